/**
 * `holdfast bench` checks names against benchmark-names.ts (usage errors in the CLI's format);
 * bench/run-all.ts must run and offer exactly that list, or a benchmark would be refused or offered wrongly.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "../cli-helpers.ts";
import { BENCHMARK_NAMES } from "./benchmark-names.ts";

test("the CLI's benchmark names are the ones bench/run-all.ts runs", () => {
  const help = execFileSync(process.execPath, [path.join(ROOT, "bench/run-all.ts"), "--help"], {
    encoding: "utf8",
  });
  const listed = /Names select a subset: (.*) \(default: all\)/.exec(help)?.[1];
  assert.ok(listed, help);
  assert.deepEqual(listed.split(", "), [...BENCHMARK_NAMES]);
});

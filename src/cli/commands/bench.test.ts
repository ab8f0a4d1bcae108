/**
 * `holdfast bench` checks names against its own list (usage errors in the CLI's format); that list
 * must be the one bench/run-all.ts runs, or a benchmark would be refused or offered wrongly.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "../cli-helpers.ts";
import { BENCHMARK_NAMES } from "./bench.ts";

test("the CLI's benchmark names are the ones bench/run-all.ts runs", () => {
  const help = execFileSync(process.execPath, [path.join(ROOT, "bench/run-all.ts"), "--help"], {
    encoding: "utf8",
  });
  const listed = /Names select a subset: (.*) \(default: all\)/.exec(help)?.[1];
  assert.ok(listed, help);
  assert.deepEqual(listed.split(", "), [...BENCHMARK_NAMES]);
});

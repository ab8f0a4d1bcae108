/**
 * `holdfast … | head -1`: output whose reader closed the pipe ends the CLI quietly with 141
 * (128 + SIGPIPE), never an EPIPE stack trace or an `internal_error`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { type CliResult, spawnCli } from "./cli-helpers.ts";
import { CLOSED_OUTPUT_EXIT } from "./closed-output.ts";

/** Runs the CLI with its stdout pipe closed by the reader before the CLI writes anything. */
function runIntoClosedPipe(args: string[]): Promise<CliResult> {
  const { child, output } = spawnCli(args);
  // The CLI takes far longer to load than this takes: its first write finds no reader.
  child.stdout.destroy();
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, ...output() }));
  });
}

describe("output to a closed pipe", () => {
  let dir: string;
  let url: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hf-closed-output-"));
    url = `sqlite:${path.join(dir, "s.db")}`;
    const store = await createStore(url);
    try {
      for (let i = 0; i < 30; i++) {
        const { id } = await store.create("default", { owner: "alice" });
        await store.append("default", id, [{ content: { type: "message", role: "user", content: "hi" } }]);
      }
    } finally {
      await store.close();
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const args of [
    ["sessions", "ls"],
    ["sessions", "ls", "--json"],
    ["sessions", "export"],
  ]) {
    test(`${args.join(" ")}: exit ${CLOSED_OUTPUT_EXIT}, nothing on stderr`, async () => {
      const res = await runIntoClosedPipe([...args, "--store", url]);
      assert.equal(res.code, CLOSED_OUTPUT_EXIT, res.stderr);
      assert.equal(res.stderr, "", "no stack trace, no error line: nobody reads the output");
    });
  }
});

/** The gateway benchmark's --gc summary of a served process's `--trace-gc-nvp` output. */
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileMark, readSince, summarizeGcTrace } from "../../bench/gateway/gc-trace.ts";

// Shortened real lines (Node 24): the fields the summary reads, among others it ignores.
const scavenge = (pause: number, promoted: number, survived: number): string =>
  `[10130:0x26f0d000:0]      151 ms: pause=${pause} mutator=40.5 gc=s reduce_memory=0 scavenge=4.25 ` +
  `allocated=809416 promoted=${promoted} new_space_survived=${survived} nodes_promoted=14 promotion_rate=99.7%`;
const markCompact = (pause: number): string =>
  `[10130:0x26f0d000:0]     1114 ms: pause=${pause} mutator=12.0 gc=mc reduce_memory=0 mark=10.1 promoted=0`;

describe("gateway --gc trace summary", () => {
  test("counts scavenges and mark-compacts, pause percentiles, promoted and survived KB per request", () => {
    const text = [
      "holdfast listening on http://127.0.0.1:1234 (store sqlite:/tmp/x.db)",
      scavenge(2, 1024 * 1000, 512 * 1000),
      scavenge(6, 1024 * 1000, 512 * 1000),
      scavenge(4, 1024 * 2000, 0),
      markCompact(21.5),
      "",
    ].join("\n");
    const gc = summarizeGcTrace(text, 1000);
    assert.equal(gc.scavenges, 3);
    assert.equal(gc.scavengePauseP50Ms, 4);
    assert.equal(gc.scavengePauseMaxMs, 6);
    assert.equal(gc.scavengePauseTotalMs, 12);
    assert.equal(gc.promotedKbPerReq, 4);
    assert.equal(gc.survivedKbPerReq, 1);
    assert.equal(gc.markCompacts, 1);
    assert.deepEqual(gc.markCompactPausesMs, [21.5]);
  });

  test("a phase without GC lines reports zeros, not NaN", () => {
    const gc = summarizeGcTrace("nothing traced\n", 0);
    assert.equal(gc.scavenges, 0);
    assert.equal(gc.scavengePauseMaxMs, 0);
    assert.equal(gc.promotedKbPerReq, 0);
    assert.equal(gc.markCompacts, 0);
  });

  test("reads only what was appended to the output file after the mark", () => {
    const dir = mkdtempSync(join(tmpdir(), "holdfast-gc-trace-"));
    try {
      const file = join(dir, "serve.log");
      writeFileSync(file, `${scavenge(50, 1024 * 999, 0)}\n`);
      const mark = fileMark(file);
      appendFileSync(file, `${scavenge(3, 1024 * 10, 0)}\n`);
      const gc = summarizeGcTrace(readSince(file, mark), 10);
      assert.equal(gc.scavenges, 1);
      assert.equal(gc.scavengePauseMaxMs, 3);
      assert.equal(gc.promotedKbPerReq, 1);
      assert.equal(readSince(file, fileMark(file)), "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

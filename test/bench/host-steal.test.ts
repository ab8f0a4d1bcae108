/** The benchmarks' steal share: parsing /proc/stat's cpu line. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCpuTimes, stealMeter } from "../../bench/lib/host-steal.ts";

describe("host steal", () => {
  test("reads steal (8th field) and the total of the first eight, ignoring guest time", () => {
    const text = "cpu  100 5 50 800 10 1 4 30 7 0\ncpu0 50 2 25 400 5 0 2 15 3 0\nintr 1\n";
    assert.deepEqual(parseCpuTimes(text), { steal: 30, total: 1000 });
  });

  test("null for anything that is not the all-CPU line", () => {
    assert.equal(parseCpuTimes("cpu0 1 2 3 4 5 6 7 8\n"), null);
    assert.equal(parseCpuTimes("cpu 1 2 3\n"), null);
    assert.equal(parseCpuTimes("cpu 1 2 3 4 5 6 7 x\n"), null);
    assert.equal(parseCpuTimes(""), null);
  });

  test("a meter gives a share between 0 and 1 on Linux", { skip: process.platform !== "linux" }, () => {
    const stop = stealMeter();
    let x = 0;
    for (let i = 0; i < 5e6; i++) x += i % 7;
    const share = stop();
    assert.ok(x > 0);
    assert.ok(share === null || (share >= 0 && share <= 1), String(share));
  });
});

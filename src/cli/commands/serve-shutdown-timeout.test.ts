/**
 * `--shutdown-timeout` / `HOLDFAST_SHUTDOWN_TIMEOUT_MS`: the flag wins, an empty variable is unset
 * (as every HOLDFAST_* variable), and a bad value names where it came from.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { shutdownTimeoutMs } from "./serve.ts";

test("the flag beats the variable; an unset or empty variable gives the default", () => {
  assert.equal(shutdownTimeoutMs("250", "5000"), 250);
  assert.equal(shutdownTimeoutMs(undefined, "5000"), 5000);
  assert.equal(shutdownTimeoutMs(undefined, undefined), 10_000);
  assert.equal(shutdownTimeoutMs(undefined, ""), 10_000, "empty is unset, not 0 ms");
  assert.equal(shutdownTimeoutMs("0", undefined), 0);
});

test("a bad value names the flag or the variable it came from, and the value", () => {
  assert.throws(() => shutdownTimeoutMs(undefined, "abc"), {
    code: "invalid_argument",
    message: /^HOLDFAST_SHUTDOWN_TIMEOUT_MS must be .* \(got 'abc'\)\.$/,
  });
  assert.throws(() => shutdownTimeoutMs("-5", "100"), {
    code: "invalid_argument",
    message: /^--shutdown-timeout must be .* \(got '-5'\)\.$/,
  });
  assert.throws(() => shutdownTimeoutMs(undefined, "600001"), { message: /HOLDFAST_SHUTDOWN_TIMEOUT_MS/ });
});

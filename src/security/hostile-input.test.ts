import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  checkHeaders,
  checkIdempotencyKey,
  checkJsonDepth,
  checkRawJsonDepth,
  checkSessionId,
  INPUT_LIMITS,
} from "./hostile-input.ts";

const code = (c: string) => (error: unknown) => (error as { code?: string }).code === c;

describe("hostile-input helpers", () => {
  it("limits JSON depth on raw text before parsing, ignoring brackets inside strings", () => {
    checkRawJsonDepth(JSON.stringify({ a: [{ b: "[[[[[[[[[[[[[[[[[[[[" }] }), 4);
    checkRawJsonDepth('{"a":"\\"[[[["}', 1);
    assert.throws(() => checkRawJsonDepth("[".repeat(65)), code("invalid_argument"));
    checkRawJsonDepth("[".repeat(64));
    assert.throws(() => checkRawJsonDepth(Buffer.from("[".repeat(1_000_000))), /deeper than 64/);
  });

  it("limits depth of parsed values iteratively, agreeing with the raw check", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(() => checkJsonDepth(deep), code("invalid_argument"));
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 8 }), (value, max) => {
        const text = JSON.stringify(value);
        const raw = (() => {
          try {
            checkRawJsonDepth(text, max);
            return true;
          } catch {
            return false;
          }
        })();
        const parsed = (() => {
          try {
            checkJsonDepth(JSON.parse(text), max);
            return true;
          } catch {
            return false;
          }
        })();
        assert.equal(raw, parsed, text);
      }),
    );
  });

  it("limits header count and sizes with headers_too_large (431)", () => {
    checkHeaders({ authorization: "Bearer x", accept: ["a", "b"] });
    assert.throws(
      () => checkHeaders({ big: "x".repeat(INPUT_LIMITS.headerValueBytes + 1) }),
      code("headers_too_large"),
    );
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`h${i}`, "v"]));
    assert.throws(() => checkHeaders(many), /101 headers/);
    const wide = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`h${i}`, "v".repeat(4000)]));
    assert.throws(() => checkHeaders(wide), /total/);
  });

  it("checks ids and idempotency keys", () => {
    assert.equal(checkIdempotencyKey("op-1"), "op-1");
    assert.throws(() => checkIdempotencyKey("has space"), code("invalid_argument"));
    assert.throws(() => checkIdempotencyKey("x".repeat(256)), code("invalid_argument"));
    assert.throws(() => checkSessionId("conv_../../etc"), code("invalid_argument"));
  });
});

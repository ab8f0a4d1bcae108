import assert from "node:assert/strict";
import { test } from "node:test";
import { checkItemSizes } from "./input.ts";
import { jsonFitsIn } from "./json-bound.ts";

const exact = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/** Strings JSON writes longer than their UTF-8: escapes, control characters, lone surrogates. */
const STRINGS = [
  "",
  "plain",
  'quote " and \\ back',
  "\u0000\u0001\u001f\n\t",
  "é漢😀",
  "\ud800",
  "x\udc00y",
  "\u2028",
];
/** Numbers at their longest when written. */
const NUMBERS = [
  0, -0, 1, -1.7976931348623157e308, 5e-324, -0.0000012345678901234567, -123456789012345680000, 0.1,
];

function randomJson(rng: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;
  const kind = depth > 3 ? Math.floor(rng() * 4) : Math.floor(rng() * 6);
  if (kind === 0) return pick(STRINGS).repeat(1 + Math.floor(rng() * 3));
  if (kind === 1) return pick(NUMBERS);
  if (kind === 2) return pick([null, true, false]);
  if (kind === 3) return pick(STRINGS);
  if (kind === 4) return Array.from({ length: Math.floor(rng() * 4) }, () => randomJson(rng, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(rng() * 4); i > 0; i--) object[pick(STRINGS) + i] = randomJson(rng, depth + 1);
  return object;
}

test("jsonFitsIn never says a value fits when its JSON is longer than the limit", () => {
  let seed = 7;
  const rng = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 5000; i++) {
    const value = randomJson(rng, 0);
    const size = exact(value);
    for (const limit of [0, size - 1, size, 6 * size + 64]) {
      if (jsonFitsIn(value, limit))
        assert.ok(size <= limit, `${JSON.stringify(value)} is ${size} > ${limit}`);
    }
    // The bound is loose, but not so loose that ordinary values are ever serialized to be checked.
    assert.ok(jsonFitsIn(value, 6 * size + 64), JSON.stringify(value));
  }
});

test("an input item is refused from one byte over the limit, whatever the bound says", () => {
  const item = (text: string) => ({
    content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  });
  const at = item("x".repeat(100));
  const limit = exact(at.content);
  checkItemSizes([at], limit, "input");
  assert.throws(() => checkItemSizes([item("x".repeat(101))], limit, "input"), {
    code: "payload_too_large",
    param: "input[0]",
    message: `input[0] is ${limit + 1} bytes; the limit is ${limit} bytes.`,
  });
  assert.throws(() => checkItemSizes([at, item("\u0000".repeat(100))], limit, "input"), {
    param: "input[1]",
  });
});

/**
 * Whether `JSON.stringify(value)` is certainly at most `limit` bytes, found without serializing
 * it. A turn checks its input items and the request parts its record keeps against the store's
 * item limit before writing anything; the store serializes the same values again when it writes
 * them, so the check serializes only what might be over (it then measures it exactly).
 *
 * Valid for the plain JSON a request body parses to. The bound per value: a string is at most 6
 * bytes per UTF-16 unit (`\uXXXX`) plus its quotes, a number at most 25 characters, `null`,
 * `true` and `false` at most 5; containers add their brackets, commas, and keys with colons.
 */
const NUMBER_BYTES = 25;
const LITERAL_BYTES = 5;

const stringBound = (text: string): number => 2 + 6 * text.length;

/** An upper bound of the serialized size, or any number over `budget` once it is certainly over. */
function bound(value: unknown, budget: number): number {
  if (typeof value === "string") return stringBound(value);
  if (typeof value === "number") return NUMBER_BYTES;
  if (value === null || typeof value !== "object") return LITERAL_BYTES;
  let total = 2;
  if (Array.isArray(value)) {
    for (const entry of value) {
      total += 1 + bound(entry, budget - total);
      if (total > budget) return total;
    }
    return total;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    total += stringBound(key) + 2 + bound(object[key], budget - total);
    if (total > budget) return total;
  }
  return total;
}

export function jsonFitsIn(value: unknown, limit: number): boolean {
  return bound(value, limit) <= limit;
}

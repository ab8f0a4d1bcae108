/**
 * What a restore checks before it hands an archive's items to the driver. Appends go through the
 * store core's validation (prepare-items.ts); a restore writes the archived items back as they
 * are, so an archive written before a check existed (a NUL or an unpaired surrogate in a type,
 * role, status, call id or turn id, which Postgres refuses in a text column and SQLite turns into
 * U+FFFD), or one edited by hand, would fail deep in the driver (a bare 500) or be altered. The
 * same rules as an append's are applied here, and the first break is named.
 */
import { ITEM_ID_PATTERN } from "../store/ids.ts";
import type { Item } from "../store/types.ts";
import { isPlainObject, isStorableText, LIMITS } from "../store/validate.ts";

const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER): boolean =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;

/** Why a plain-text field cannot be stored, or null when it can (`optional`: null or absent is allowed). */
function textProblem(value: unknown, field: string, optional: boolean, maxChars: number): string | null {
  if ((value === null || value === undefined) && optional) return null;
  if (typeof value !== "string" || (!optional && value.length === 0) || value.length > maxChars) {
    return `its ${field} is not a${optional ? " null or" : " non-empty"} string of at most ${maxChars} characters`;
  }
  return isStorableText(value) ? null : `its ${field} holds a NUL character or an unpaired surrogate`;
}

/** Why an archived item (following seq `previousSeq`) cannot be restored, or null. */
function itemProblem(raw: unknown, previousSeq: number): string | null {
  if (!isPlainObject(raw)) return "it is not an object";
  const item = raw as unknown as Item;
  if (!isCount(item.seq) || item.seq <= previousSeq) return "its seq is not an integer above the one before";
  if (typeof item.id !== "string" || !ITEM_ID_PATTERN.test(item.id)) return "its id is not a valid item id";
  if (!isPlainObject(item.content)) return "its content is not an object";
  if (!isCount(item.tokens, LIMITS.itemTokens)) return "its token count is not an integer in range";
  if (!isCount(item.bytes) || !isCount(item.createdAt)) return "its bytes or createdAt is not a count";
  const callId = item.content.call_id;
  return (
    textProblem(item.type, "type", false, 64) ??
    textProblem(item.role, "role", true, Number.MAX_SAFE_INTEGER) ??
    textProblem(item.status, "status", true, Number.MAX_SAFE_INTEGER) ??
    (typeof callId === "string"
      ? textProblem(callId, "content.call_id", false, Number.MAX_SAFE_INTEGER)
      : null) ??
    textProblem(item.turnId, "turnId", true, 128)
  );
}

/** The first archived item the store cannot take back, described for an error message; null when all can. */
export function unrestorableItem(items: readonly unknown[]): string | null {
  const ids = new Set<string>();
  let previousSeq = 0;
  for (const [index, raw] of items.entries()) {
    const problem = itemProblem(raw, previousSeq);
    const item = raw as Item;
    const where = `item ${index + 1} of ${items.length}${isCount(item?.seq) ? ` (seq ${item.seq})` : ""}`;
    if (problem) return `${where}: ${problem}, which the store cannot keep`;
    if (ids.has(item.id)) return `${where}: its id '${item.id}' appears twice`;
    ids.add(item.id);
    previousSeq = item.seq;
  }
  return null;
}

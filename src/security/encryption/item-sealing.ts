/**
 * The write path of `withEncryption`: item inputs sealed under their session's data key (token
 * counts taken on the plaintext, ids derived from the operation id so a retry hashes the same),
 * and the merge patch that swaps sealed state wholesale.
 */
import { newItemId } from "../../store/ids.ts";
import { estimateTokensOfJson, type TokenCounter } from "../../store/tokens.ts";
import type { ItemInput, JsonObject, JsonValue } from "../../store/types.ts";
import { checkJsonObject, isPlainObject } from "../../store/validate.ts";
import { hmac } from "./aead.ts";
import { ENC_FIELD, encryptContent, type ItemSealer, itemSealer } from "./content-crypto.ts";
import type { SessionKeys } from "./data-keys.ts";
import type { CachedText } from "./plaintext-cache.ts";
import { checkPlainSize } from "./sealed-limits.ts";

/** A merge patch turning stored state `from` into exactly `to`. */
export function replacementPatch(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = { ...to };
  // Own keys only: `"constructor" in to` is true for every object, which would leave such a key behind.
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) patch[key] = null;
  return patch;
}

/** An item an append sealed: its id and seq, the stored blob and the plaintext JSON it seals. */
export interface SealedText extends CachedText {
  readonly id: string;
  readonly seq: number;
}

/**
 * Seals item bodies, input `i` for seq `afterSeq + 1 + i` (where the store appends it: a batch
 * with anything malformed, which passes through untouched, is rejected whole by the core).
 * `countTokens` null means the default estimate, computed from the plaintext bytes in hand.
 * A body over `maxItemBytes` (its plaintext JSON, as the core measures it) is refused with the
 * core's `payload_too_large`: the store only sees the larger sealed form.
 * `sealedTexts[i]`, when given, receives what input `i` was sealed as (nothing when it passed through).
 */
export function sealItems(
  tenant: string,
  sessionId: string,
  items: ItemInput[],
  afterSeq: number,
  keys: SessionKeys,
  countTokens: TokenCounter | null,
  maxItemBytes: number,
  operationId?: string,
  sealedTexts?: (SealedText | undefined)[],
): ItemInput[] {
  if (!Array.isArray(items)) return items;
  const deterministic = operationId !== undefined;
  let sealer: ItemSealer | undefined;
  return items.map((raw, index) => {
    if (!isPlainObject(raw) || !isPlainObject(raw.content)) return raw;
    const content = checkJsonObject(raw.content, `items[${index}].content`);
    // The body is the content without its id: a copy only when there is an id to leave out.
    let body = content;
    let innerId: JsonValue | undefined;
    if (Object.hasOwn(content, "id")) ({ id: innerId, ...body } = content);
    const type = body.type;
    if (typeof type !== "string" || type.length === 0) return raw;
    const id = raw.id ?? innerId ?? sealedItemId(type, keys.get(sessionId), operationId, index);
    if (typeof id !== "string") return raw;
    sealer ??= itemSealer(keys, tenant, sessionId);
    const seq = afterSeq + 1 + index;
    const { stored, plaintext, plaintextBytes } = encryptContent(body, sealer, id, seq, deterministic);
    if (plaintextBytes > maxItemBytes) checkPlainSize(plaintextBytes, maxItemBytes, `items[${index}]`);
    // The append's own result is answered from the plaintext in hand (not the shared cache:
    // the window cache carries what the next turns read).
    if (sealedTexts) sealedTexts[index] = { id, seq, blob: stored[ENC_FIELD] as string, text: plaintext };
    // The default estimate (the store's, media priced alike) starts from the serialized size in hand.
    const tokens =
      raw.tokens ?? (countTokens === null ? estimateTokensOfJson(body, plaintextBytes) : countTokens(body));
    const sealed: ItemInput = { id, content: stored, tokens };
    if (raw.turnId !== undefined) sealed.turnId = raw.turnId;
    return sealed;
  });
}

/** With an operation id, generated item ids are derived from it so a retry hashes the same. */
function sealedItemId(
  type: string,
  key: Buffer | undefined,
  operationId: string | undefined,
  index: number,
): string {
  const random = newItemId(type);
  if (operationId === undefined || !key) return random;
  const prefix = random.slice(0, random.indexOf("_"));
  const mac = hmac(key, `hf-item-id\u0000${operationId}\u0000${index}`).toString("hex");
  return `${prefix}_${mac.slice(0, 32)}`;
}

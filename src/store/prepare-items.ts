/**
 * Turns caller item inputs into what drivers store: validated Responses item bodies with their
 * id, type, role, status and call id pulled out, serialized once, sized, and token-counted.
 */
import type { PreparedItem } from "./driver.ts";
import { HoldfastError, InvalidArgumentError } from "./errors.ts";
import { newItemId } from "./ids.ts";
import { bytesToTokens, type TokenCounter } from "./tokens.ts";
import type { ItemInput, JsonObject } from "./types.ts";
import {
  checkItemId,
  checkJsonObject,
  checkSize,
  checkStorableText,
  isPlainObject,
  LIMITS,
} from "./validate.ts";

export interface PrepareOptions {
  maxItemBytes: number;
  /** Counts an item's tokens when the caller gives none; null: the byte-size estimate. */
  countTokens: TokenCounter | null;
}

/**
 * The configured counter's answer as a stored token count: a fraction is rounded up; anything but
 * a number from 0 to the item limit is the counter's bug, refused before a write (drivers stored
 * such values differently: NaN broke Redis reads, 1.5 was a Postgres error and 1 in a Redis total).
 */
function counted(count: TokenCounter, body: JsonObject, param: string): number {
  const n = count(body);
  if (typeof n === "number" && n >= 0 && n <= LIMITS.itemTokens) return Math.ceil(n);
  throw new HoldfastError(
    "internal",
    `The store's token counter answered ${String(n).slice(0, 32)} for ${param}; it must answer a number from 0 to ${LIMITS.itemTokens}.`,
  );
}

export function prepareItems(items: unknown, now: number, options: PrepareOptions): PreparedItem[] {
  if (!Array.isArray(items)) throw new InvalidArgumentError("items must be an array.", { param: "items" });
  if (items.length > LIMITS.itemsPerAppend) {
    throw new InvalidArgumentError(`At most ${LIMITS.itemsPerAppend} items per append.`, {
      param: "items",
    });
  }
  const seen = new Set<string>();
  return items.map((raw, index) => {
    const param = `items[${index}]`;
    if (!isPlainObject(raw)) throw new InvalidArgumentError(`${param} must be an object.`, { param });
    const input = raw as unknown as ItemInput;
    const { id: innerId, ...body } = checkJsonObject(input.content, `${param}.content`);
    const type = body.type;
    if (typeof type !== "string" || type.length === 0 || type.length > 64) {
      throw new InvalidArgumentError(`${param}.content.type must be a non-empty string (e.g. "message").`, {
        param: `${param}.content.type`,
      });
    }
    checkStorableText(type, `${param}.content.type`);
    const id = checkItemId(input.id ?? innerId ?? newItemId(type), `${param}.id`);
    if (seen.has(id))
      throw new InvalidArgumentError(`Item id '${id}' appears twice.`, { param: `${param}.id` });
    seen.add(id);
    const contentJson = JSON.stringify(body);
    const bytes = Buffer.byteLength(contentJson);
    checkSize(bytes, options.maxItemBytes, `${param}`, param);
    let tokens: number;
    // The default estimate is a function of the serialized size we already have.
    if (input.tokens === undefined)
      tokens =
        options.countTokens === null ? bytesToTokens(bytes) : counted(options.countTokens, body, param);
    else if (Number.isSafeInteger(input.tokens) && input.tokens >= 0 && input.tokens <= LIMITS.itemTokens)
      tokens = input.tokens;
    else {
      throw new InvalidArgumentError(`${param}.tokens must be an integer from 0 to ${LIMITS.itemTokens}.`, {
        param,
      });
    }
    const turnId = input.turnId ?? null;
    if (turnId !== null && (typeof turnId !== "string" || turnId.length > 128)) {
      throw new InvalidArgumentError(`${param}.turnId must be a string of at most 128 characters.`, {
        param,
      });
    }
    if (turnId !== null) checkStorableText(turnId, `${param}.turnId`);
    // Drivers keep these in plain text columns (content keeps them too, escaped in its JSON).
    const str = (field: string): string | null => {
      const v = body[field];
      return typeof v === "string" ? checkStorableText(v, `${param}.content.${field}`) : null;
    };
    return {
      id,
      type,
      role: str("role"),
      status: str("status"),
      callId: str("call_id"),
      content: body,
      contentJson,
      tokens,
      bytes,
      turnId,
      createdAt: now,
    };
  });
}

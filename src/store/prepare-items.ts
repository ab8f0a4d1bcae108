/**
 * Turns caller item inputs into what drivers store: validated Responses item bodies with their
 * id, type, role, status and call id pulled out, serialized once, sized, and token-counted.
 */
import type { PreparedItem } from "./driver.ts";
import { HoldfastError, InvalidArgumentError } from "./errors.ts";
import { ITEM_ID_PATTERN, newItemId } from "./ids.ts";
import { estimateTokensOfJson, type TokenCounter } from "./tokens.ts";
import type { ItemInput, JsonObject } from "./types.ts";
import {
  checkItemId,
  checkJsonObject,
  checkSize,
  checkStorableText,
  isPlainObject,
  isStorableText,
  LIMITS,
} from "./validate.ts";

export interface PrepareOptions {
  maxItemBytes: number;
  /** Counts an item's tokens when the caller gives none; null: the default estimate (tokens.ts). */
  countTokens: TokenCounter | null;
}

/** Names item `index` in errors. Built only on the way to a refusal: this runs for every stored item. */
const itemParam = (index: number): string => `items[${index}]`;

/**
 * The configured counter's answer as a stored token count: a fraction is rounded up; anything but
 * a number from 0 to the item limit is the counter's bug, refused before a write (drivers stored
 * such values differently: NaN broke Redis reads, 1.5 was a Postgres error and 1 in a Redis total).
 */
function counted(count: TokenCounter, body: JsonObject, index: number): number {
  const n = count(body);
  if (typeof n === "number" && n >= 0 && n <= LIMITS.itemTokens) return Math.ceil(n);
  throw new HoldfastError(
    "internal",
    `The store's token counter answered ${String(n).slice(0, 32)} for ${itemParam(index)}; it must answer a number from 0 to ${LIMITS.itemTokens}.`,
  );
}

/** A text column (role, status, call id): drivers keep it in plain text, content keeps it escaped in its JSON. */
function textColumn(body: JsonObject, field: string, index: number): string | null {
  const v = body[field];
  if (typeof v !== "string") return null;
  return isStorableText(v) ? v : checkStorableText(v, `${itemParam(index)}.content.${field}`);
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
    if (!isPlainObject(raw)) {
      const param = itemParam(index);
      throw new InvalidArgumentError(`${param} must be an object.`, { param });
    }
    const input = raw as unknown as ItemInput;
    const { id: innerId, ...body } = checkJsonObject(input.content, `${itemParam(index)}.content`);
    const type = body.type;
    if (typeof type !== "string" || type.length === 0 || type.length > 64) {
      throw new InvalidArgumentError(
        `${itemParam(index)}.content.type must be a non-empty string (e.g. "message").`,
        { param: `${itemParam(index)}.content.type` },
      );
    }
    if (!isStorableText(type)) checkStorableText(type, `${itemParam(index)}.content.type`);
    const given = input.id ?? innerId ?? newItemId(type);
    const id =
      typeof given === "string" && ITEM_ID_PATTERN.test(given)
        ? given
        : checkItemId(given, `${itemParam(index)}.id`);
    if (seen.has(id))
      throw new InvalidArgumentError(`Item id '${id}' appears twice.`, { param: `${itemParam(index)}.id` });
    seen.add(id);
    const contentJson = JSON.stringify(body);
    const bytes = Buffer.byteLength(contentJson);
    if (bytes > options.maxItemBytes)
      checkSize(bytes, options.maxItemBytes, itemParam(index), itemParam(index));
    let tokens: number;
    // The default estimate starts from the serialized size we already have.
    if (input.tokens === undefined)
      tokens =
        options.countTokens === null
          ? estimateTokensOfJson(body, bytes)
          : counted(options.countTokens, body, index);
    else if (Number.isSafeInteger(input.tokens) && input.tokens >= 0 && input.tokens <= LIMITS.itemTokens)
      tokens = input.tokens;
    else {
      throw new InvalidArgumentError(
        `${itemParam(index)}.tokens must be an integer from 0 to ${LIMITS.itemTokens}.`,
        {
          param: itemParam(index),
        },
      );
    }
    const turnId = input.turnId ?? null;
    if (turnId !== null && (typeof turnId !== "string" || turnId.length > 128)) {
      throw new InvalidArgumentError(
        `${itemParam(index)}.turnId must be a string of at most 128 characters.`,
        {
          param: itemParam(index),
        },
      );
    }
    if (turnId !== null && !isStorableText(turnId)) checkStorableText(turnId, `${itemParam(index)}.turnId`);
    return {
      id,
      type,
      role: textColumn(body, "role", index),
      status: textColumn(body, "status", index),
      callId: textColumn(body, "call_id", index),
      content: body,
      contentJson,
      tokens,
      bytes,
      turnId,
      createdAt: now,
    };
  });
}

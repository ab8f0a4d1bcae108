/**
 * JSON Schemas for every body, query string and path parameter. Query strings arrive as
 * strings (the validator does not coerce, so bodies stay strict); numeric query values are
 * matched by pattern and converted by `queryInt`.
 */
import { InvalidArgumentError } from "../store/errors.ts";
import { LIMITS } from "../store/validate.ts";
import { INCLUDE_QUERY } from "./include-query.ts";

const INT = "^[0-9]{1,15}$";
const DECIMAL = /^[0-9]{1,16}$/;

export const conversationIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", pattern: "^conv_[A-Za-z0-9_-]{8,96}$" } },
} as const;

export const itemIdParams = {
  type: "object",
  required: ["id", "item_id"],
  properties: {
    id: conversationIdParams.properties.id,
    item_id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,128}$" },
  },
} as const;

const metadata = {
  type: "object",
  maxProperties: LIMITS.metadataPairs,
  additionalProperties: { type: "string", maxLength: LIMITS.metadataValueChars },
} as const;

const labels = {
  type: "array",
  maxItems: LIMITS.labels,
  items: { type: "string", minLength: 1, maxLength: LIMITS.labelChars },
} as const;

/** An item body: OpenAI Responses shapes are open-ended, so only `type`/`role`/`id` are typed here. */
const item = {
  type: "object",
  properties: {
    id: { type: "string" },
    type: { type: "string", minLength: 1, maxLength: 64 },
    role: { type: "string" },
  },
  anyOf: [{ required: ["type"] }, { required: ["role"] }],
} as const;

export const items = { type: "array", maxItems: LIMITS.itemsPerAppend, items: item } as const;

/** Holdfast fields settable on create, update and fork. */
const holdfastFields = {
  owner: { type: ["string", "null"], minLength: 1, maxLength: LIMITS.ownerChars },
  labels,
  idle_ttl_ms: { type: ["integer", "null"], minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  /** Unix seconds, like every OpenAI timestamp. */
  expires_at: { type: ["integer", "null"], minimum: 1, maximum: 8_640_000_000_000 },
  pinned: { type: "boolean" },
} as const;

const jsonObject = { type: "object" } as const;

export const createConversationBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    items,
    metadata: { ...metadata, type: ["object", "null"] },
    state: jsonObject,
    ...holdfastFields,
  },
} as const;

export const updateConversationBody = {
  type: "object",
  additionalProperties: false,
  properties: { metadata, status: { type: "string", enum: ["active", "archived"] }, ...holdfastFields },
} as const;

export const forkBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    at_seq: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    at_item_id: itemIdParams.properties.item_id,
    metadata,
    state: jsonObject,
    ...holdfastFields,
  },
} as const;

export const appendItemsBody = {
  type: "object",
  additionalProperties: false,
  required: ["items"],
  properties: { items: { ...items, minItems: 1 } },
} as const;

/** OpenAI's `include` (the SDK may send it): its values are checked by include-query.ts. */
const include = INCLUDE_QUERY;

export const writeQuery = {
  type: "object",
  additionalProperties: false,
  properties: { expected_version: { type: "string", pattern: INT }, include, "include[]": include },
} as const;

export const listItemsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    after: itemIdParams.properties.item_id,
    limit: { type: "string", pattern: INT },
    order: { type: "string", enum: ["asc", "desc"] },
    include,
    "include[]": include,
  },
} as const;

export const listConversationsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    owner: { type: "string", minLength: 1, maxLength: LIMITS.ownerChars },
    label: { type: "string", minLength: 1, maxLength: LIMITS.labelChars },
    status: { type: "string", enum: ["active", "archived"] },
    updated_before: { type: "string", pattern: INT },
    updated_after: { type: "string", pattern: INT },
    order: { type: "string", enum: ["asc", "desc"] },
    limit: { type: "string", pattern: INT },
    after: { type: "string", minLength: 1, maxLength: 512 },
  },
} as const;

export const windowQuery = {
  type: "object",
  additionalProperties: false,
  required: ["max_tokens"],
  properties: { max_tokens: { type: "string", pattern: INT } },
} as const;

export const emptyQuery = { type: "object", additionalProperties: false, properties: {} } as const;

/**
 * An integer query value: decimal digits only, within its range, else a message naming it. The
 * digits are checked here and not only by the routes' schemas: `Number()` alone takes `1e2`,
 * `0x10`, `" 5"` and `""` (as 0), and callers without a schema (the dashboard's API) use this too.
 */
export function queryInt(
  value: string | undefined,
  param: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${param} must be an integer from ${min} to ${max}, in decimal digits.`, {
      param,
    });
  }
  return n;
}

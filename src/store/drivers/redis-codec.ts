/**
 * Encodings of the Redis driver: session fields (one hash field each, so a Lua script can
 * swap single values without parsing JSON) and items (one list element each, JSON or
 * MessagePack). An item's seq is not stored: it is its position in the list.
 */
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import type { PreparedItem, SessionChanges } from "../driver.ts";
import { HoldfastError } from "../errors.ts";
import type { Item, JsonObject, Session, SessionHeadInfo } from "../types.ts";
import { isVisible, sessionBytes } from "./shared.ts";

export const ITEM_ENCODINGS = ["json", "msgpack"] as const;
export type ItemEncoding = (typeof ITEM_ENCODINGS)[number];

/** Bump when the stored layout changes; sessions of an unknown schema are refused, not misread. */
export const SCHEMA_VERSION = "1";

/** A raw reply value: strings in JSON mode, Buffers in MessagePack mode. */
export type Raw = string | Buffer;

type ItemTuple = [
  id: string,
  type: string,
  role: string | null,
  status: string | null,
  tokens: number,
  bytes: number,
  turnId: string | null,
  createdAt: number,
  content: JsonObject,
];

export interface ItemCodec {
  readonly name: ItemEncoding;
  /** Whether replies must be read as Buffers (binary encodings). */
  readonly binary: boolean;
  encode(item: PreparedItem): Raw;
  decode(raw: Raw, seq: number): Item;
}

function fromTuple(t: ItemTuple, seq: number): Item {
  return {
    seq,
    id: t[0],
    type: t[1],
    role: t[2],
    status: t[3],
    content: t[8],
    tokens: t[4],
    bytes: t[5],
    turnId: t[6],
    createdAt: t[7],
  };
}

const JSON_FIRST_BYTE = 0x5b; // '['
const MSGPACK_FIRST_BYTE = 0x99; // fixarray of 9

function wrongEncoding(found: ItemEncoding): HoldfastError {
  return new HoldfastError(
    "internal",
    `Stored items are ${found}-encoded but the store was opened with another encoding; open it with ?encoding=${found}.`,
  );
}

const jsonCodec: ItemCodec = Object.freeze({
  name: "json" as const,
  binary: false,
  encode(p: PreparedItem): string {
    // contentJson was serialized once by the core; splice it in rather than stringify again.
    const s = JSON.stringify;
    return `[${s(p.id)},${s(p.type)},${s(p.role)},${s(p.status)},${p.tokens},${p.bytes},${s(p.turnId)},${p.createdAt},${p.contentJson}]`;
  },
  decode(raw: Raw, seq: number): Item {
    const text = typeof raw === "string" ? raw : raw.toString("utf8");
    if (text.charCodeAt(0) !== JSON_FIRST_BYTE) throw wrongEncoding("msgpack");
    return fromTuple(JSON.parse(text) as ItemTuple, seq);
  },
});

const msgpackCodec: ItemCodec = Object.freeze({
  name: "msgpack" as const,
  binary: true,
  encode(p: PreparedItem): Raw {
    // @msgpack/msgpack refuses to decode a `__proto__` key, which would make the item unreadable:
    // such items are stored as JSON, which `decode` reads in either mode. The test may match a
    // string value too; that item is then only stored as JSON.
    if (p.contentJson.includes('"__proto__":')) return jsonCodec.encode(p);
    const tuple: ItemTuple = [
      p.id,
      p.type,
      p.role,
      p.status,
      p.tokens,
      p.bytes,
      p.turnId,
      p.createdAt,
      p.content,
    ];
    const bytes = msgpackEncode(tuple);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  decode(raw: Raw, seq: number): Item {
    const buf = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
    if (buf[0] === JSON_FIRST_BYTE) return jsonCodec.decode(buf, seq);
    if (buf[0] !== MSGPACK_FIRST_BYTE) throw wrongEncoding("json");
    return fromTuple(msgpackDecode(buf) as ItemTuple, seq);
  },
});

export function itemCodec(encoding: ItemEncoding): ItemCodec {
  return encoding === "msgpack" ? msgpackCodec : jsonCodec;
}

const JSON_FIELDS = ["owner", "metadata", "labels", "state", "forkParent", "idleTtlMs", "expiresAt"] as const;

/** Hash fields of a new session as flat [field, value, …] pairs. `itemBytes` starts at 0. */
export function sessionFields(session: Session): string[] {
  return [
    "schema",
    SCHEMA_VERSION,
    "id",
    session.id,
    "tenant",
    session.tenant,
    "version",
    "1",
    "itemCount",
    "0",
    "tokenCount",
    "0",
    "itemBytes",
    "0",
    "createdAt",
    String(session.createdAt),
    "updatedAt",
    String(session.updatedAt),
    "lastActiveAt",
    String(session.lastActiveAt),
    "status",
    session.status,
    "pinned",
    session.pinned ? "1" : "0",
    ...JSON_FIELDS.flatMap((f) => [f, JSON.stringify(session[f])]),
  ];
}

/** Hash fields an update swaps, as flat pairs; numbers that may be null stay JSON ("null"). */
export function changeFields(changes: SessionChanges): string[] {
  const out: string[] = [];
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (field === "status") out.push(field, String(value));
    else if (field === "pinned") out.push(field, value ? "1" : "0");
    else out.push(field, JSON.stringify(value));
  }
  return out;
}

/** Turns a flat [field, value, …] reply (from Lua) into a record. */
export function pairsToRecord(flat: Raw[], from = 0): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

function unknownSchema(id: string, schema: string | undefined): HoldfastError {
  return new HoldfastError(
    "internal",
    `Session '${id}' was stored with Redis schema ${schema ?? "?"}, this version reads ${SCHEMA_VERSION}; upgrade Holdfast.`,
  );
}

/** Decodes a session hash; null for a missing (empty) hash or a fork still being copied. */
export function decodeSession(fields: Record<string, string>): Session | null {
  if (fields.id === undefined || fields.building !== undefined) return null;
  if (fields.schema !== SCHEMA_VERSION) throw unknownSchema(fields.id, fields.schema);
  const j = (f: string): unknown => JSON.parse(fields[f] ?? "null");
  const n = (f: string): number => Number(fields[f] ?? 0);
  return {
    id: fields.id,
    tenant: fields.tenant ?? "",
    owner: j("owner") as string | null,
    metadata: j("metadata") as Record<string, string>,
    labels: j("labels") as string[],
    state: j("state") as JsonObject,
    version: n("version"),
    // `itemCount` is the seq high-water mark (appends continue after it); deleted items are counted apart.
    itemCount: n("itemCount") - n("deletedItems"),
    lastSeq: n("itemCount"),
    tokenCount: n("tokenCount"),
    bytes: sessionBytes(n("itemBytes"), fields.state ?? "{}"),
    createdAt: n("createdAt"),
    updatedAt: n("updatedAt"),
    lastActiveAt: n("lastActiveAt"),
    idleTtlMs: j("idleTtlMs") as number | null,
    expiresAt: j("expiresAt") as number | null,
    status: fields.status as Session["status"],
    pinned: fields.pinned === "1",
    forkParent: j("forkParent") as Session["forkParent"],
  };
}

/** The hash fields `decodeHead` reads (one HMGET): no JSON field but the two that decide visibility. */
export const HEAD_FIELDS = [
  "id",
  "building",
  "schema",
  "retainUntil",
  "version",
  "itemCount",
  "deletedItems",
  "tokenCount",
  "createdAt",
  "status",
  "lastActiveAt",
  "idleTtlMs",
  "expiresAt",
] as const;

/**
 * A session's head from the values of HEAD_FIELDS, by the rules of `decodeSession` and the
 * driver's `getSession` (a replica past `retainUntil`, an expired or idle-timed-out session:
 * null), without reading the session's metadata, labels or state.
 */
export function decodeHead(values: readonly (string | null)[], now: number): SessionHeadInfo | null {
  const [id, building, schema, retainUntil, version, itemCount, deleted, tokens, createdAt, status, ...rest] =
    values;
  if (id === null || id === undefined || (building !== null && building !== undefined)) return null;
  if (schema !== SCHEMA_VERSION) throw unknownSchema(id, schema ?? undefined);
  // A replica's retention ("null" or absent on a session of this tier: NaN, never past).
  if (Number(retainUntil ?? Number.NaN) <= now) return null;
  const [lastActiveAt, idleTtlMs, expiresAt] = rest;
  const deadlines = {
    lastActiveAt: Number(lastActiveAt ?? 0),
    idleTtlMs: JSON.parse(idleTtlMs ?? "null") as number | null,
    expiresAt: JSON.parse(expiresAt ?? "null") as number | null,
  };
  if (!isVisible(deadlines, now)) return null;
  const lastSeq = Number(itemCount ?? 0);
  return {
    id,
    version: Number(version ?? 0),
    createdAt: Number(createdAt ?? 0),
    itemCount: lastSeq - Number(deleted ?? 0),
    lastSeq,
    tokenCount: Number(tokens ?? 0),
    status: status as SessionHeadInfo["status"],
  };
}

/**
 * Script arguments shared by the Redis driver's writes, chunked copies (long forks and
 * replicas are built hidden, 2,000 items per script, so Redis keeps serving everyone else),
 * and the ReplicaTarget capability that lets Redis be the hot tier of a tiered store.
 */
import type { PreparedItem } from "../driver.ts";
import { HoldfastError } from "../errors.ts";
import type { Item, Session } from "../types.ts";
import { type ItemCodec, type Raw, sessionFields } from "./redis-codec.ts";
import type { SessionKeys } from "./redis-keys.ts";
import type { ScriptName } from "./redis-scripts.ts";

/** Items copied per script by a fork or a replica. */
export const COPY_CHUNK = 2000;
/** A copy being built expires after this unless finished (the copying process died). */
export const COPY_BUILD_TTL_MS = 600_000;

export type Arg = string | Buffer | number;
export type Reply = [status: Raw, ...rest: unknown[]];

/** What the copy helpers need from the driver. */
export interface ScriptRunner {
  run(name: ScriptName, keys: SessionKeys, args: Arg[]): Promise<Reply>;
  keys(tenant: string, id: string): SessionKeys;
  codec: ItemCodec;
  expiryGraceMs: number;
}

export interface ReplicaAppend {
  fromVersion: number;
  toVersion: number;
  items: Item[];
  now: number;
  retainUntil: number | null;
}

/** `[n, id, tokens, bytes, encoded, …]` for items the core prepared. */
export function itemArgs(codec: ItemCodec, items: PreparedItem[]): Arg[] {
  const args: Arg[] = [items.length];
  for (const p of items) args.push(p.id, p.tokens, p.bytes, codec.encode(p));
  return args;
}

/** The slot of a deleted item in a copy: an empty id, which push_items (Lua) stores as ''. */
export const GAP_ARGS: readonly Arg[] = Object.freeze(["", 0, 0, ""]);

/** The same for items that already carry their seq (copies of another tier's items); null is a gap. */
export function numberedItemArgs(codec: ItemCodec, items: readonly (Item | null)[]): Arg[] {
  const args: Arg[] = [items.length];
  for (const item of items) {
    if (item === null) {
      args.push(...GAP_ARGS);
      continue;
    }
    const prepared: PreparedItem = { ...item, callId: null, contentJson: JSON.stringify(item.content) };
    args.push(item.id, item.tokens, item.bytes, codec.encode(prepared));
  }
  return args;
}

/** One slot per seq 1..lastSeq: the items at their seqs, null where an item was deleted. */
export function slotsOf(items: Item[], lastSeq: number): (Item | null)[] {
  const size = Math.max(lastSeq, items.at(-1)?.seq ?? 0);
  if (items.length === size) return items;
  const slots = new Array<Item | null>(size).fill(null);
  for (const item of items) slots[item.seq - 1] = item;
  return slots;
}

/** Items an append just wrote, built from what the core prepared (fresh copies of the content). */
export function appendedItems(items: PreparedItem[], firstSeq: number): Item[] {
  return items.map((p, i) => ({
    seq: firstSeq + i,
    id: p.id,
    type: p.type,
    role: p.role,
    status: p.status,
    content: JSON.parse(p.contentJson),
    tokens: p.tokens,
    bytes: p.bytes,
    turnId: p.turnId,
    createdAt: p.createdAt,
  }));
}

function expectOk(reply: Reply, what: string): void {
  if (String(reply[0]) !== "ok") throw new HoldfastError("internal", `${what} being copied vanished.`);
}

/** Appends a further chunk to a hidden copy, or makes a finished copy visible. */
export async function fillCopy(
  ctx: ScriptRunner,
  keys: SessionKeys,
  args: Arg[],
  what: string,
): Promise<void> {
  expectOk(await ctx.run("hfForkFill", keys, [COPY_BUILD_TTL_MS, ...args]), what);
}

export async function finishCopy(
  ctx: ScriptRunner,
  keys: SessionKeys,
  now: number,
  what: string,
): Promise<void> {
  expectOk(await ctx.run("hfForkDone", keys, [now, ctx.expiryGraceMs]), what);
}

/**
 * Replaces any copy of the session with an exact replica (same version, seqs, ids, counters),
 * dropped at `retainUntil`. `now` sets native expiry; replicas are not in the listing index
 * (a tiered store lists from its durable tier).
 */
export async function putReplica(
  ctx: ScriptRunner,
  session: Session,
  items: Item[],
  retainUntil: number | null,
  now: number,
): Promise<void> {
  const keys = ctx.keys(session.tenant, session.id);
  const fields = [
    ...sessionFields(session),
    "version",
    String(session.version),
    "retainUntil",
    JSON.stringify(retainUntil),
  ];
  const slots = slotsOf(items, session.lastSeq);
  const whole = slots.length <= COPY_CHUNK;
  const first = numberedItemArgs(ctx.codec, slots.slice(0, COPY_CHUNK));
  const mode = whole ? "whole" : COPY_BUILD_TTL_MS;
  const put = [now, ctx.expiryGraceMs, mode, fields.length, ...fields, ...first];
  expectOk(await ctx.run("hfReplicaPut", keys, put), "A replica");
  if (whole) return;
  for (let from = COPY_CHUNK; from < slots.length; from += COPY_CHUNK) {
    await fillCopy(ctx, keys, numberedItemArgs(ctx.codec, slots.slice(from, from + COPY_CHUNK)), "A replica");
  }
  await finishCopy(ctx, keys, now, "A replica");
}

/** Extends a replica that is exactly at `fromVersion`; false (nothing changed) otherwise. */
export async function appendReplica(
  ctx: ScriptRunner,
  keys: SessionKeys,
  change: ReplicaAppend,
): Promise<boolean> {
  const reply = await ctx.run("hfReplicaAppend", keys, [
    change.now,
    ctx.expiryGraceMs,
    change.fromVersion,
    change.toVersion,
    JSON.stringify(change.retainUntil),
    change.items[0]?.seq ?? 0,
    ...numberedItemArgs(ctx.codec, change.items),
  ]);
  return String(reply[0]) === "ok";
}

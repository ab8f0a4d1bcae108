/**
 * Creating sessions in Redis: fresh ones, and forks that copy a parent's history (in chunks
 * into a hidden child when it is long, since parent and child may live in different slots).
 */
import type { PreparedItem } from "../driver.ts";
import { ConflictError } from "../errors.ts";
import type { Session } from "../types.ts";
import { type Raw, sessionFields } from "./redis-codec.ts";
import { addToIndex, removeFromIndex } from "./redis-list.ts";
import {
  type Arg,
  COPY_BUILD_TTL_MS,
  COPY_CHUNK,
  fillCopy,
  finishCopy,
  GAP_ARGS,
  itemArgs,
} from "./redis-replica.ts";
import { checkReply, type OpsContext } from "./redis-script-calls.ts";
import { sessionBytes } from "./shared.ts";

/** Index entry first, then the session in one script (see redis-list.ts for why this order), then the entry again. */
async function create(
  ctx: OpsContext,
  session: Session,
  itemPart: Arg[],
  mode: "create" | "fork" | number,
): Promise<void> {
  const fields = sessionFields(session);
  await addToIndex(ctx.list, session);
  const reply = await ctx.run("hfCreate", ctx.keys(session.tenant, session.id), [
    session.createdAt,
    ctx.expiryGraceMs,
    mode,
    fields.length,
    ...fields,
    ...itemPart,
  ]);
  if (String(reply[0]) === "exists") {
    // Our index entry only names the existing session if it has the same creation time.
    if (Number(String(reply[1])) !== session.createdAt) {
      await removeFromIndex(ctx.list, session.tenant, session.id, session.createdAt);
    }
    throw new ConflictError(`A session with id '${session.id}' already exists.`, { param: "id" });
  }
  // Again once the session exists: a delete of an earlier session with this id and the same
  // creation time (the same millisecond) may have removed the entry in between (redis-list.ts
  // unindexDeleted). A long fork's hidden first chunk is indexed again when it is done.
  if (typeof mode !== "number") await addToIndex(ctx.list, session);
}

/** The session as created: the core's fresh object with counters over `items`. */
function created(
  session: Session,
  items: readonly { tokens: number; bytes: number }[],
  version: number,
  lastSeq: number,
): Session {
  let tokens = 0;
  let bytes = 0;
  for (const p of items) {
    tokens += p.tokens;
    bytes += p.bytes;
  }
  const result = structuredClone(session);
  result.version = version;
  result.itemCount = items.length;
  result.lastSeq = lastSeq;
  result.tokenCount = tokens;
  result.bytes = sessionBytes(bytes, JSON.stringify(session.state));
  return result;
}

export async function createSession(
  ctx: OpsContext,
  session: Session,
  items: PreparedItem[],
): Promise<Session> {
  await create(ctx, session, itemArgs(ctx.codec, items), "create");
  return created(session, items, items.length > 0 ? 2 : 1, items.length);
}

export async function forkSession(
  ctx: OpsContext,
  tenant: string,
  parentId: string,
  atSeq: number,
  child: Session,
  now: number,
): Promise<Session> {
  const parentKeys = ctx.keys(tenant, parentId);
  const childKeys = ctx.keys(tenant, child.id);
  const sizes: { tokens: number; bytes: number }[] = [];
  // The parent's slot and the child's differ on a Cluster, so the copy cannot be one script.
  // Small histories: one read, one create. Long ones: chunks into a hidden child (expiring on
  // its own if this process dies mid-way), made visible by one last script.
  for (let from = 1; from <= Math.max(atSeq, 1); from += COPY_CHUNK) {
    const to = Math.min(atSeq, from + COPY_CHUNK - 1);
    const reply = checkReply(await ctx.run("hfForkRead", parentKeys, [now, from, to]), parentId);
    if (String(reply[0]) === "short") {
      throw new ConflictError(`Session '${parentId}' has fewer than ${atSeq} items.`, {
        param: "at_seq",
      });
    }
    const raws = reply[1] as Raw[];
    const args: Arg[] = [raws.length];
    raws.forEach((raw, i) => {
      // A deleted item's slot is copied as a gap, so the child keeps the parent's seqs.
      if (raw.length === 0) {
        args.push(...GAP_ARGS);
        return;
      }
      const item = ctx.codec.decode(raw, from + i);
      args.push(item.id, item.tokens, item.bytes, raw);
      sizes.push(item);
    });
    if (from === 1) await create(ctx, child, args, atSeq <= COPY_CHUNK ? "fork" : COPY_BUILD_TTL_MS);
    else await fillCopy(ctx, childKeys, args, "A fork");
  }
  if (atSeq > COPY_CHUNK) {
    await finishCopy(ctx, childKeys, now, "A fork");
    // A long copy may outlast the index repair grace; the entry is re-added when it is done.
    await addToIndex(ctx.list, child);
  }
  return created(child, sizes, 1, atSeq);
}

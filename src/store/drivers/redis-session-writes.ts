/**
 * The Redis driver's session writes besides appends: update, delete, touch and item deletion.
 * Each is one script that checks visibility and the expected version before writing.
 */
import type { DriverWrite, SessionChanges } from "../driver.ts";
import { NotFoundError } from "../errors.ts";
import type { Session } from "../types.ts";
import { changeFields, decodeSession, pairsToRecord, type Raw } from "./redis-codec.ts";
import { unindexDeleted } from "./redis-list.ts";
import type { Reply } from "./redis-replica.ts";
import { checkReply, type OpsContext } from "./redis-script-calls.ts";

/** The session fields a successful write replies with. */
function sessionOf(reply: Reply): Session {
  return decodeSession(pairsToRecord(reply[1] as Raw[]))!;
}

export async function updateSession(
  ctx: OpsContext,
  tenant: string,
  id: string,
  changes: SessionChanges,
  write: DriverWrite,
): Promise<Session> {
  const reply = checkReply(
    await ctx.run("hfUpdate", ctx.keys(tenant, id), [
      write.now,
      ctx.expiryGraceMs,
      write.expectedVersion ?? "",
      ...changeFields(changes),
    ]),
    id,
    write.expectedVersion,
  );
  return sessionOf(reply);
}

export async function deleteSession(
  ctx: OpsContext,
  tenant: string,
  id: string,
  write: DriverWrite,
): Promise<void> {
  const reply = checkReply(
    await ctx.run("hfDelete", ctx.keys(tenant, id), [write.now, write.expectedVersion ?? ""]),
    id,
    write.expectedVersion,
  );
  await unindexDeleted(ctx.list, tenant, id, Number(String(reply[1])), write.now);
}

export async function deleteItems(
  ctx: OpsContext,
  tenant: string,
  id: string,
  itemIds: string[],
  write: DriverWrite,
): Promise<Session> {
  const reply = checkReply(
    await ctx.run("hfDeleteItems", ctx.keys(tenant, id), [
      write.now,
      ctx.expiryGraceMs,
      write.expectedVersion ?? "",
      itemIds.length,
      ...itemIds,
    ]),
    id,
    write.expectedVersion,
  );
  if (String(reply[0]) === "nif") {
    throw new NotFoundError(`No item '${String(reply[1])}' in session '${id}'.`, { param: "item_id" });
  }
  return sessionOf(reply);
}

export async function touch(ctx: OpsContext, tenant: string, id: string, now: number): Promise<Session> {
  const reply = checkReply(await ctx.run("hfTouch", ctx.keys(tenant, id), [now, ctx.expiryGraceMs]), id);
  return sessionOf(reply);
}

/**
 * The Redis driver's append: one script per append (alone, or in a tick's batch), whose reply
 * becomes the AppendResult — fresh items, a replay of a known operation id — or a typed error.
 */
import type { DriverAppend, PreparedItem } from "../driver.ts";
import { ConflictError, conversationBusy } from "../errors.ts";
import type { AppendResult } from "../types.ts";
import type { Raw } from "./redis-codec.ts";
import { decodeSlots } from "./redis-item-reads.ts";
import type { SessionKeys } from "./redis-keys.ts";
import { type Arg, appendedItems, itemArgs, type Reply } from "./redis-replica.ts";
import { checkReply, type OpsContext } from "./redis-script-calls.ts";

/** Sends one append (`claim`: the claim triple of hfAppendClaimed, or null for hfAppend). */
export type AppendSender = (keys: SessionKeys, args: Arg[], claim: Arg[] | null) => Promise<Reply>;

export async function appendItems(
  ctx: OpsContext,
  send: AppendSender,
  tenant: string,
  id: string,
  items: PreparedItem[],
  options: DriverAppend,
): Promise<AppendResult> {
  const args = [
    options.now,
    ctx.expiryGraceMs,
    options.expectedVersion ?? "",
    options.operationId ?? "",
    options.payloadHash,
    ...itemArgs(ctx.codec, items),
  ];
  const c = options.claim;
  // A turn's first and last appends carry its claim (hfAppendClaimed, or in a batch).
  const claim = c ? [c.holder, c.until, c.release ? "1" : ""] : null;
  const reply = checkReply(await send(ctx.keys(tenant, id), args, claim), id, options.expectedVersion);
  const status = String(reply[0]);
  if (status === "busy") throw conversationBusy(id);
  if (status === "idem") {
    throw new ConflictError(
      `Operation id '${options.operationId}' was already used with a different payload.`,
      {
        param: "operation_id",
        code: "idempotency_conflict",
      },
    );
  }
  if (status === "dup") {
    throw new ConflictError(`Item id '${String(reply[1])}' already exists in session '${id}'.`, {
      param: "items.id",
    });
  }
  const version = Number(reply[1]);
  const firstSeq = Number(reply[2]);
  if (status === "replay") {
    const raws = reply[3] as Raw[];
    const replayed = decodeSlots(ctx.codec, raws, firstSeq);
    const lastSeq = firstSeq + raws.length - 1;
    return { version, firstSeq, lastSeq, replayed: true, items: replayed };
  }
  const lastSeq = Number(reply[3]);
  return { version, firstSeq, lastSeq, replayed: false, items: appendedItems(items, firstSeq) };
}

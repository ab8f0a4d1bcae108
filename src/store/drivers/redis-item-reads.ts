/**
 * The Redis driver's item reads (pages, one item, the token window): one script each, so a
 * read sees one consistent session; deleted items come back as empty slots and are skipped.
 */
import type { DriverReadQuery, DriverWindow } from "../driver.ts";
import { NotFoundError } from "../errors.ts";
import type { Item } from "../types.ts";
import { decodeSession, type ItemCodec, pairsToRecord, type Raw } from "./redis-codec.ts";
import { checkReply, type OpsContext } from "./redis-script-calls.ts";

/** One raw slot per seq from `firstSeq`; an empty slot is a deleted item and is skipped. */
export function decodeSlots(codec: ItemCodec, raws: Raw[], firstSeq: number): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    if (raw.length > 0) items.push(codec.decode(raw, firstSeq + i));
  }
  return items;
}

export async function readItems(
  ctx: OpsContext,
  tenant: string,
  id: string,
  query: DriverReadQuery,
  now: number,
): Promise<Item[]> {
  const reply = checkReply(
    await ctx.run("hfReadItems", ctx.keys(tenant, id), [
      now,
      query.afterSeq ?? 0,
      query.beforeSeq ?? "",
      query.limit,
      query.order,
    ]),
    id,
  );
  const items = decodeSlots(ctx.codec, reply[2] as Raw[], Number(reply[1]));
  return query.order === "desc" ? items.reverse() : items;
}

export async function getItem(
  ctx: OpsContext,
  tenant: string,
  id: string,
  itemId: string,
  now: number,
): Promise<Item> {
  const reply = checkReply(await ctx.run("hfGetItem", ctx.keys(tenant, id), [now, itemId]), id);
  if (String(reply[0]) === "nif" || reply[2] === null) {
    throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
  }
  return ctx.codec.decode(reply[2] as Raw, Number(reply[1]));
}

export async function readWindow(
  ctx: OpsContext,
  tenant: string,
  id: string,
  maxTokens: number,
  now: number,
  excludeTypes?: readonly string[],
): Promise<DriverWindow> {
  const reply = checkReply(await ctx.run("hfWindow", ctx.keys(tenant, id), [now, maxTokens]), id);
  const session = decodeSession(pairsToRecord(reply[2] as Raw[]))!;
  const startSeq = Number(reply[1]);
  const items = decodeSlots(ctx.codec, reply[3] as Raw[], startSeq);
  // Excluded types are filtered after decoding here (the SQLite driver skips them in SQL).
  const kept = excludeTypes ? items.filter((item) => !excludeTypes.includes(item.type)) : items;
  return { session, startSeq, items: kept };
}

/**
 * Deleting one item, the core's half: deciding which items go together. A function call and
 * its outputs are deleted as one unit — an output left without its call is an orphan that
 * cuts every window short (window-pairs.ts), and a call left without its output makes the
 * provider answer 400 — so windows stay valid whatever a client deletes. The driver then
 * removes exactly those ids atomically, at the version the pair was computed from.
 */
import { type DriverWrite, type ItemDeleteCapable, isItemDeleteCapable, type StoreDriver } from "./driver.ts";
import { isHoldfastError, UnsupportedError } from "./errors.ts";
import type { Item, Session } from "./types.ts";
import { isCallItem, isOutputItem } from "./window-pairs.ts";

const PAGE = 1000;

function callIdOf(item: Item): string | null {
  const id = item.content.call_id;
  return typeof id === "string" ? id : null;
}

/** Seq of the call `callId` before `seq`, scanning backwards (outputs follow their call); null if none. */
async function callBefore(
  driver: StoreDriver,
  tenant: string,
  id: string,
  callId: string,
  seq: number,
  now: number,
) {
  for (let before = seq; ; ) {
    const page = await driver.readItems(tenant, id, { beforeSeq: before, limit: PAGE, order: "desc" }, now);
    const call = page.find((item) => isCallItem(item.type) && callIdOf(item) === callId);
    if (call) return call.seq;
    if (page.length < PAGE) return null;
    before = page.at(-1)!.seq;
  }
}

/** Ids of the call and output items sharing `callId` from `fromSeq` on. */
async function pairIdsFrom(
  driver: StoreDriver,
  tenant: string,
  id: string,
  callId: string,
  fromSeq: number,
  now: number,
) {
  const ids: string[] = [];
  for (let after = fromSeq - 1; ; ) {
    const page = await driver.readItems(tenant, id, { afterSeq: after, limit: PAGE, order: "asc" }, now);
    for (const item of page) {
      if ((isCallItem(item.type) || isOutputItem(item.type)) && callIdOf(item) === callId) ids.push(item.id);
    }
    if (page.length < PAGE) return ids;
    after = page.at(-1)!.seq;
  }
}

/**
 * The ids to delete with `itemId`: itself, plus — when it belongs to a pair — its call and every
 * output of that call (found from the call on; outputs never precede their call).
 */
async function unitOf(driver: StoreDriver, tenant: string, id: string, itemId: string, now: number) {
  const target = await driver.getItem(tenant, id, itemId, now);
  const callId = isCallItem(target.type) || isOutputItem(target.type) ? callIdOf(target) : null;
  if (callId === null) return [itemId];
  const from = isCallItem(target.type)
    ? target.seq
    : ((await callBefore(driver, tenant, id, callId, target.seq, now)) ?? target.seq);
  const ids = await pairIdsFrom(driver, tenant, id, callId, from, now);
  return ids.includes(itemId) ? ids : [itemId, ...ids];
}

export interface DeleteItemRequest {
  tenant: string;
  id: string;
  itemId: string;
  expectedVersion: number | undefined;
  now: number;
  /** Re-plans after a concurrent write moved the version (only without `expectedVersion`). */
  retries: number;
}

/** Deletes the item (with its pair partners) and returns the session after the delete. */
export async function deleteItemUnit(driver: StoreDriver, request: DeleteItemRequest): Promise<Session> {
  if (!isItemDeleteCapable(driver)) {
    throw new UnsupportedError(`The '${driver.name}' store cannot delete items.`);
  }
  const capable: ItemDeleteCapable = driver;
  const { tenant, id, itemId, expectedVersion, now } = request;
  for (let attempt = 0; ; attempt++) {
    const head = await driver.getSession(tenant, id, now);
    // Read the unit at a known version, then delete at that version: a call whose output is being
    // appended right now is never deleted without it.
    const write: DriverWrite = { expectedVersion: expectedVersion ?? head?.version, now };
    const ids = await unitOf(driver, tenant, id, itemId, now);
    try {
      return await capable.deleteItems(tenant, id, ids, write);
    } catch (error) {
      const moved = isHoldfastError(error) && error.code === "conflict";
      if (!moved || expectedVersion !== undefined || attempt >= request.retries) throw error;
    }
  }
}

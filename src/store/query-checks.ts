/**
 * Validation of the store's read queries: the public list query becomes the driver's, with
 * defaults filled in and every filter checked.
 */
import type { DriverListQuery } from "./driver.ts";
import { decodeCursor } from "./encoding.ts";
import { InvalidArgumentError } from "./errors.ts";
import { LIST_ORDERS, LIST_SORTS, type ListOrder, type ListQuery, type ListSort } from "./types.ts";
import {
  assertObject,
  checkLabels,
  checkOptionalTime,
  checkOwner,
  checkPositiveInt,
  checkSeq,
  checkSessionId,
  checkStatus,
} from "./validate.ts";

/** A list or read order: `asc` or `desc`, `fallback` when absent. */
export function checkOrder(order: unknown, fallback: ListOrder): ListOrder {
  const value = order ?? fallback;
  if (!LIST_ORDERS.includes(value as ListOrder)) {
    throw new InvalidArgumentError("order must be 'asc' or 'desc'.", { param: "order" });
  }
  return value as ListOrder;
}

/**
 * The driver query for a page of `limit` sessions (one more row is asked for, to know if a next
 * page exists), and `asOf`, the start of the paging run the next cursor carries.
 *
 * Keyset paging is exact only over keys that do not change. `created` never changes; `updated`,
 * `items` and `bytes` do, and a session whose key changes between pages moves: over or back past
 * the cursor, so it could be listed twice or skipped. Every change to those keys also sets
 * `updatedAt` (every driver's write stamps it), so a run whose later pages leave out sessions
 * updated after its first page (`updatedAt > asOf`) pages over keys that stood still: each session
 * unchanged since the run began is listed exactly once, and one changed meanwhile at most once
 * (on a page read before its change) — never twice.
 */
export function driverListQuery(
  query: ListQuery,
  clock: () => number,
): { sort: ListSort; limit: number; asOf: number | undefined; driverQuery: DriverListQuery } {
  assertObject(query, "List query");
  const order = checkOrder(query.order, "desc");
  const sort: ListSort = query.sort ?? "created";
  if (!LIST_SORTS.includes(sort)) {
    throw new InvalidArgumentError(`sort must be one of ${LIST_SORTS.join(", ")}.`, { param: "sort" });
  }
  const limit = query.limit === undefined ? 20 : checkPositiveInt(query.limit, "limit", 1000);
  const now = clock();
  const cursor = query.cursor === undefined ? undefined : decodeCursor(String(query.cursor), sort);
  // A first page starts the run; a cursor from before runs had a start pages as it always did.
  const asOf = sort === "created" ? undefined : cursor === undefined ? now : cursor.asOf;
  const updatedBefore = checkOptionalTime(query.updatedBefore, "updatedBefore") ?? undefined;
  const driverQuery: DriverListQuery = {
    owner: query.owner === undefined ? undefined : (checkOwner(query.owner) ?? undefined),
    label: query.label === undefined ? undefined : checkLabels([query.label], "label")[0],
    status: query.status === undefined ? undefined : checkStatus(query.status),
    updatedBefore:
      cursor?.asOf === undefined
        ? updatedBefore
        : Math.min(updatedBefore ?? Number.MAX_SAFE_INTEGER, cursor.asOf + 1),
    updatedAfter:
      query.updatedAfter === undefined ? undefined : (checkSeq(query.updatedAfter, "updatedAfter") ?? 0),
    createdBefore: checkOptionalTime(query.createdBefore, "createdBefore") ?? undefined,
    createdAfter: checkSeq(query.createdAfter, "createdAfter"),
    minBytes: checkSeq(query.minBytes, "minBytes"),
    maxBytes: checkSeq(query.maxBytes, "maxBytes"),
    forkOf: query.forkOf === undefined ? undefined : checkSessionId(query.forkOf, "forkOf"),
    sort,
    order,
    limit: limit + 1,
    after: cursor === undefined ? undefined : { value: cursor.value, id: cursor.id },
    now,
  };
  return { sort, limit, asOf, driverQuery };
}

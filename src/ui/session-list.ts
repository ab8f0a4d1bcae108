/**
 * The Sessions view's query: filters and sorts map to one `store.list` page (keyset cursors, so
 * a sorted listing is correct across pages and each page costs the same however deep it is).
 *
 * The model filter is the exception: a session does not record its model, its turn records do.
 * It walks store pages in the chosen sort and keeps the sessions whose recent turns (among their
 * last `MODEL_RECENT_ITEMS` items) used that model, reading at most `MODEL_SCAN_SESSIONS`
 * sessions per request; the answer says how many were checked and gives a cursor to go on.
 * An archived session is checked in its archive (`archivedItems`), never through the served
 * store, which would restore it; without a reader, or when its archive cannot be read, it does
 * not match and is counted in `archivedUnchecked`.
 */
import type { ArchivedItemsReader } from "../lifecycle/archive-peek.ts";
import { queryInt } from "../server/schemas.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import {
  type Item,
  LIST_SORTS,
  type ListQuery,
  type ListSort,
  SESSION_STATUSES,
  type Session,
  type SessionStatus,
  type SessionStore,
} from "../store/types.ts";
import { archivedSessionItems } from "./archived-session-items.ts";
import { toTurn } from "./transcript.ts";

/** Sessions a model-filtered request checks at most. */
export const MODEL_SCAN_SESSIONS = 500;
/** Newest items of a session searched for turn records by the model filter. */
export const MODEL_RECENT_ITEMS = 64;
const SCAN_PAGE = 100;
const HOUR_MS = 3_600_000;

export type Query = Record<string, string | undefined>;

export interface SessionListPage {
  data: Session[];
  nextCursor: string | null;
  /** Model filter only: sessions checked by this request. */
  scanned?: number;
  /** Model filter only: archived sessions among them whose items could not be read without restoring them. */
  archivedUnchecked?: number;
}

/**
 * An integer query parameter within bounds, or `fallback` when absent or empty: decimal digits
 * only, as the HTTP API takes them (`1e2`, `0x10`, `-0` or `5.0` are a 400 naming it).
 */
export function intParam(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  return queryInt(value === "" ? undefined : value, name, min, max) ?? fallback;
}

/** A relative age in hours (1 hour to 10 years) as an instant before `now`. */
function hoursAgo(q: Query, name: string, now: number): number | undefined {
  const value = q[name];
  if (value === undefined || value === "") return undefined;
  return now - intParam(value, name, 1, 24 * 3660, 1) * HOUR_MS;
}

/** The store query of a Sessions view request (everything but the model filter). */
export function listQueryOf(q: Query, now: number): ListQuery {
  if (q.status !== undefined && q.status !== "" && !SESSION_STATUSES.includes(q.status as SessionStatus)) {
    throw new InvalidArgumentError(`status must be one of ${SESSION_STATUSES.join(", ")}.`, {
      param: "status",
    });
  }
  const sort = (q.sort || "created") as ListSort;
  if (!LIST_SORTS.includes(sort)) {
    throw new InvalidArgumentError(`sort must be one of ${LIST_SORTS.join(", ")}.`, { param: "sort" });
  }
  const bytes = (name: string): number | undefined =>
    q[name] ? intParam(q[name], name, 0, Number.MAX_SAFE_INTEGER, 0) : undefined;
  // Ages are relative to now, so a bookmarked view stays meaningful.
  const updatedAfter = hoursAgo(q, "activeWithin", now);
  const updatedBefore = hoursAgo(q, "idleFor", now);
  const createdAfter = hoursAgo(q, "createdWithin", now);
  const createdBefore = hoursAgo(q, "olderThan", now);
  const minBytes = bytes("minBytes");
  const maxBytes = bytes("maxBytes");
  return {
    ...(q.owner ? { owner: q.owner } : {}),
    ...(q.label ? { label: q.label } : {}),
    ...(q.status ? { status: q.status as SessionStatus } : {}),
    ...(updatedAfter !== undefined ? { updatedAfter } : {}),
    ...(updatedBefore !== undefined ? { updatedBefore } : {}),
    ...(createdAfter !== undefined ? { createdAfter } : {}),
    ...(createdBefore !== undefined ? { createdBefore } : {}),
    ...(minBytes !== undefined ? { minBytes } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    sort,
    order: q.order === "asc" ? "asc" : "desc",
    limit: intParam(q.limit, "limit", 1, 200, 50),
    ...(q.cursor ? { cursor: q.cursor } : {}),
  };
}

/** True when one of `items` is a turn record that asked for or was served by `model`. */
function hasTurnOf(items: readonly Item[], model: string): boolean {
  for (const item of items) {
    const turn = toTurn(item);
    if (!turn) continue;
    if (turn.model === model || turn.servedBy?.split("/").slice(1).join("/") === model) return true;
  }
  return false;
}

/** True when one of the recent turns of a session that is not archived used `model`. */
async function usedModel(store: SessionStore, session: Session, model: string): Promise<boolean> {
  if (session.itemCount === 0) return false;
  const items = await store.readItems(session.tenant, session.id, {
    order: "desc",
    limit: MODEL_RECENT_ITEMS,
  });
  return hasTurnOf(items, model);
}

/**
 * The same for an archived session, read from its archive: the served store restores a session
 * on read, so a filtered listing would undo the sweeper's work for every archived session it
 * checked. `null` when it cannot be read without a restore.
 */
async function archivedUsedModel(
  store: SessionStore,
  session: Session,
  model: string,
  read: ArchivedItemsReader | undefined,
): Promise<boolean | null> {
  const items = await archivedSessionItems(store, session.tenant, session, read, {
    newest: MODEL_RECENT_ITEMS,
  });
  return items === null ? null : hasTurnOf(items, model);
}

/**
 * One page of the Sessions view: `query` is `listQueryOf(q)`, `q` gives the model filter,
 * `archivedItems` reads archived sessions' items for it without restoring them.
 */
export async function listForDashboard(
  store: SessionStore,
  tenant: string,
  q: Query,
  query: ListQuery,
  archivedItems?: ArchivedItemsReader,
): Promise<SessionListPage> {
  const model = q.model?.trim();
  if (!model) {
    const page = await store.list(tenant, query);
    return { data: page.data, nextCursor: page.nextCursor };
  }
  const limit = query.limit ?? 50;
  const data: Session[] = [];
  let cursor = query.cursor;
  let scanned = 0;
  let archivedUnchecked = 0;
  // Whole store pages are consumed, so the cursor always continues after the last checked session.
  while (data.length < limit && scanned < MODEL_SCAN_SESSIONS) {
    const page = await store.list(tenant, {
      ...query,
      limit: Math.min(SCAN_PAGE, limit - data.length, MODEL_SCAN_SESSIONS - scanned),
      ...(cursor ? { cursor } : {}),
    });
    scanned += page.data.length;
    const hits: (boolean | null)[] = await Promise.all(
      page.data.map((s) => (s.status === "archived" ? false : usedModel(store, s, model))),
    );
    // One archive at a time: each is read whole (and decompressed), however long the session.
    for (const [i, session] of page.data.entries()) {
      if (session.status !== "archived") continue;
      hits[i] = await archivedUsedModel(store, session, model, archivedItems);
      if (hits[i] === null) archivedUnchecked++;
    }
    data.push(...page.data.filter((_, i) => hits[i] === true));
    cursor = page.nextCursor ?? undefined;
    if (!cursor) break;
  }
  return { data, nextCursor: cursor ?? null, scanned, archivedUnchecked };
}

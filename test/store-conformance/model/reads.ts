/**
 * The model-based case's reads: each one's whole answer is predicted by the model (sessions,
 * heads, item pages, single items, windows and list pages) and compared field by field.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { readHead } from "../../../src/store/decorators/delegating-store.ts";
import type {
  Item,
  ListOrder,
  ListQuery,
  ListSort,
  Session,
  SessionHeadInfo,
  Window,
} from "../../../src/store/types.ts";
import {
  attempt,
  checkItems,
  checkSession,
  command,
  expectCode,
  expectValue,
  type ModelCommand,
  type Op,
  planned,
  type Real,
} from "./expect.ts";
import { slotArb } from "./inputs.ts";
import {
  expectedSession,
  isVisible,
  type Model,
  type ModelSession,
  modelWindow,
  SLOT_IDS,
  sessionBytes,
  visibleSession,
} from "./state.ts";
import { pickItemId } from "./writes.ts";

function planGet(_model: Model, args: { slot: number }): Op<Session> {
  const id = SLOT_IDS[args.slot]!;
  return {
    send: (real) => attempt(real.store.get(real.tenant, id)),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", `get ${id}`);
      checkSession(m, s, expectValue(out, `get ${id}`), `get ${id}`);
    },
  };
}

function planHead(_model: Model, args: { slot: number }): Op<SessionHeadInfo> {
  const id = SLOT_IDS[args.slot]!;
  return {
    send: (real) => attempt(readHead(real.store, real.tenant, id)),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", `head of ${id}`);
      const { version, createdAt, itemCount, lastSeq, tokenCount, status } = expectedSession(m, s);
      const head = { id, version, createdAt, itemCount, lastSeq, tokenCount, status };
      assert.deepEqual(expectValue(out, `head of ${id}`), head, `head of ${id}`);
    },
  };
}

interface ReadArgs {
  slot: number;
  afterSeq?: number;
  beforeSeq?: number;
  limit?: number;
  order?: ListOrder;
}

function planReadItems(_model: Model, args: ReadArgs): Op<Item[]> {
  const { slot, ...query } = args;
  const id = SLOT_IDS[slot]!;
  const what = `readItems ${id} ${JSON.stringify(query)}`;
  return {
    send: (real) => attempt(real.store.readItems(real.tenant, id, query)),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", what);
      const after = query.afterSeq ?? 0;
      const before = query.beforeSeq ?? Number.POSITIVE_INFINITY;
      const matching = s.items.filter((i) => i.seq > after && i.seq < before);
      if (query.order === "desc") matching.reverse();
      checkItems(matching.slice(0, query.limit ?? 100), expectValue(out, what), what);
    },
  };
}

function planGetItem(model: Model, args: { slot: number; pick: number; live: boolean }): Op<Item> {
  const id = SLOT_IDS[args.slot]!;
  const itemId = pickItemId(visibleSession(model, id), args.live, args.pick);
  const what = `getItem ${itemId} of ${id}`;
  return {
    send: (real) => attempt(real.store.getItem(real.tenant, id, itemId)),
    check: (m, out) => {
      const known = visibleSession(m, id)?.items.find((i) => i.id === itemId);
      if (!known) return expectCode(out, "not_found", what);
      checkItems([known], [expectValue(out, what)], what);
    },
  };
}

function planWindow(_model: Model, args: { slot: number; maxTokens: number; exclude: string[] }): Op<Window> {
  const id = SLOT_IDS[args.slot]!;
  const what = `readWindow ${id} ${JSON.stringify(args)}`;
  const query = {
    maxTokens: args.maxTokens,
    ...(args.exclude.length > 0 ? { excludeTypes: args.exclude } : {}),
  };
  return {
    send: (real) => attempt(real.store.readWindow(real.tenant, id, query)),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", what);
      const { items: expectedItems, ...expected } = modelWindow(s, args.maxTokens, args.exclude);
      const { items, ...rest } = expectValue(out, what);
      assert.deepEqual(rest, expected, what);
      checkItems(expectedItems, items, what);
    },
  };
}

interface ListArgs {
  sort: ListSort;
  order: ListOrder;
  limit: number;
  owner?: string;
  label?: string;
  status?: "active" | "archived";
  forkOf?: number;
  updatedAfterAgo?: number;
  minBytes?: number;
}

function sortValue(model: Model, s: ModelSession, sort: ListSort): number {
  if (sort === "updated") return s.updatedAt;
  if (sort === "items") return s.items.length;
  if (sort === "bytes") return sessionBytes(model, s) ?? 0;
  return s.createdAt;
}

/** The sessions a list must answer, in order: visible, matching every filter, by (sort value, id). */
function expectedList(model: Model, args: ListArgs): ModelSession[] {
  const forkOf = args.forkOf === undefined ? undefined : SLOT_IDS[args.forkOf];
  const after = args.updatedAfterAgo === undefined ? undefined : model.now - args.updatedAfterAgo;
  const rows = [...model.sessions.values()].filter(
    (s) =>
      isVisible(s, model.now) &&
      (args.owner === undefined || s.owner === args.owner) &&
      (args.label === undefined || s.labels.includes(args.label)) &&
      (args.status === undefined || s.status === args.status) &&
      (forkOf === undefined || s.forkParent?.sessionId === forkOf) &&
      (after === undefined || s.updatedAt > after) &&
      (args.minBytes === undefined || (sessionBytes(model, s) ?? 0) >= args.minBytes),
  );
  const sign = args.order === "asc" ? 1 : -1;
  return rows.sort(
    (a, b) =>
      sign *
      (sortValue(model, a, args.sort) - sortValue(model, b, args.sort) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  );
}

async function runList(model: Model, real: Real, args: ListArgs): Promise<void> {
  const expected = expectedList(model, args);
  const { forkOf, updatedAfterAgo, ...rest } = args;
  const query: ListQuery = {
    ...rest,
    ...(forkOf === undefined ? {} : { forkOf: SLOT_IDS[forkOf] }),
    ...(updatedAfterAgo === undefined ? {} : { updatedAfter: model.now - updatedAfterAgo }),
  };
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    const what = `list ${JSON.stringify(query)} page ${page + 1}`;
    const got = await real.store.list(real.tenant, { ...query, ...(cursor === undefined ? {} : { cursor }) });
    const want = expected.slice(page * args.limit, (page + 1) * args.limit);
    assert.deepEqual(
      got.data.map((s) => s.id),
      want.map((s) => s.id),
      what,
    );
    got.data.forEach((session, i) => {
      checkSession(model, want[i]!, session, what);
    });
    const more = expected.length > (page + 1) * args.limit;
    assert.equal(got.nextCursor !== null, more, `${what}: nextCursor`);
    if (got.nextCursor === null) return;
    cursor = got.nextCursor;
  }
}

/** The reads that are one store call each, for concurrent groups too. */
export const readOps = {
  get: fc.record({ slot: slotArb }).map((a) => planned("get", a, planGet)),
  head: fc.record({ slot: slotArb }).map((a) => planned("head", a, planHead)),
  readItems: fc
    .record(
      {
        slot: slotArb,
        afterSeq: fc.nat({ max: 10 }),
        beforeSeq: fc.nat({ max: 12 }),
        limit: fc.integer({ min: 1, max: 5 }),
        order: fc.constantFrom("asc" as const, "desc" as const),
      },
      { requiredKeys: ["slot"] },
    )
    .map((a) => planned("readItems", a, planReadItems)),
  getItem: fc
    .record({ slot: slotArb, pick: fc.nat(), live: fc.nat({ max: 4 }).map((n) => n > 0) })
    .map((a) => planned("getItem", a, planGetItem)),
  readWindow: fc
    .record({
      slot: slotArb,
      maxTokens: fc.oneof(fc.nat({ max: 60 }), fc.constant(10_000)),
      exclude: fc.constantFrom<string[]>([], [], ["note"], ["note", "message"]),
    })
    .map((a) => planned("readWindow", a, planWindow)),
};

export const readCommands: fc.Arbitrary<ModelCommand>[] = [
  ...Object.values(readOps),
  fc
    .record({
      sort: fc.constantFrom("created" as const, "updated" as const, "items" as const, "bytes" as const),
      order: fc.constantFrom("asc" as const, "desc" as const),
      limit: fc.integer({ min: 1, max: 3 }),
      // At most one filter, so that lists mostly have something to page over.
      filter: fc.option(
        fc.oneof(
          fc.constantFrom("alice", "bob").map((owner) => ({ owner })),
          fc.constantFrom("red", "blue").map((label) => ({ label })),
          fc.constantFrom("active" as const, "archived" as const).map((status) => ({ status })),
          slotArb.map((forkOf) => ({ forkOf })),
          fc.constantFrom(0, 1, 2_000).map((updatedAfterAgo) => ({ updatedAfterAgo })),
          fc.constantFrom(1, 150, 400).map((minBytes) => ({ minBytes })),
        ),
        { nil: {} },
      ),
    })
    .map(({ filter, ...a }): ListArgs => ({ ...a, ...filter }))
    .map((a) => command("list", a, runList)),
];

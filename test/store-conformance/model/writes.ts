/**
 * The model-based case's writes: each predicts the outcome from the model (an error code, or the
 * exact answer), runs it on the real store, compares, and applies it to the model on success.
 */
import fc from "fast-check";
import type { JsonObject, Session } from "../../../src/store/types.ts";
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
  type VersionMode,
  versionFor,
  versionMoved,
} from "./expect.ts";
import {
  hasDuplicateIds,
  type ItemSpec,
  idleTtlArb,
  itemsArb,
  labelsArb,
  metadataArb,
  ownerArb,
  slotArb,
  stateArb,
  statePatchArb,
  toInput,
  versionArb,
} from "./inputs.ts";
import {
  appended,
  deletionUnit,
  type Model,
  type ModelSession,
  mergePatch,
  newSession,
  SLOT_IDS,
  visibleSession,
} from "./state.ts";

function planCreate(model: Model, args: CreateArgs): Op<Session> {
  const id = SLOT_IDS[args.slot]!;
  const inputs = args.items.map(toInput);
  const expiresAt = args.expiresIn === null ? null : model.now + args.expiresIn;
  const { slot: _, items: _items, expiresIn: _in, ...fields } = args;
  return {
    send: (real) => attempt(real.store.create(real.tenant, { id, ...fields, expiresAt, items: inputs })),
    check: (m, out) => {
      if (hasDuplicateIds(inputs)) return expectCode(out, "invalid_argument", "create with an id twice");
      // An expired session keeps its id until it is swept (docs/portable-format.md).
      if (m.sessions.has(id)) return expectCode(out, "conflict", `create ${id} over an existing id`);
      const items = appended(m, null, inputs);
      const s = newSession(m, id, {
        ...structuredClone(fields),
        version: items.length > 0 ? 2 : 1,
        lastSeq: items.length,
        items,
        expiresAt,
      });
      checkSession(m, s, expectValue(out, `create ${id}`), `create ${id}`);
      m.sessions.set(id, s);
    },
    // Learn the generated item ids (a create answers no items).
    after: async (m, real) => {
      const s = m.sessions.get(id);
      if (s?.items.some((i) => i.id === ""))
        checkItems(s.items, await real.store.readItems(real.tenant, id, { limit: 10_000 }), "create items");
    },
  };
}

interface CreateArgs {
  slot: number;
  items: ItemSpec[];
  owner: string | null;
  metadata: Record<string, string>;
  labels: string[];
  state: JsonObject;
  idleTtlMs: number | null;
  expiresIn: number | null;
  pinned: boolean;
}

/** A known item of the session to act on, or (`live` false, or none known) an id it does not hold. */
export function pickItemId(s: ModelSession | null, live: boolean, pick: number): string {
  const known = s?.items.filter((i) => i.id !== "") ?? [];
  return live && known.length > 0 ? known[pick % known.length]!.id : "msg_unknown";
}

function planDeleteItem(model: Model, args: DeleteItemArgs): Op<Session> {
  const id = SLOT_IDS[args.slot]!;
  const planned = visibleSession(model, id);
  const itemId = pickItemId(planned, args.live, args.pick);
  const expectedVersion = versionFor(planned, args.version);
  const what = `deleteItem ${itemId} of ${id}`;
  return {
    send: (real) => attempt(real.store.deleteItem(real.tenant, id, itemId, { expectedVersion })),
    check: (m, out) => {
      const s = visibleSession(m, id);
      const target = s?.items.find((i) => i.id === itemId);
      if (!s || !target) return expectCode(out, "not_found", what);
      if (versionMoved(s, expectedVersion)) return expectCode(out, "conflict", `${what} at a moved version`);
      const unit = deletionUnit(s, target);
      s.items = s.items.filter((i) => !unit.includes(i));
      s.version += 1;
      s.updatedAt = m.now;
      if (s.sealedBytes !== null && unit.every((i) => i.bytes !== null))
        s.sealedBytes -= unit.reduce((n, i) => n + i.bytes!, 0);
      else s.sealedBytes = null;
      checkSession(m, s, expectValue(out, what), what);
    },
  };
}

interface DeleteItemArgs {
  slot: number;
  live: boolean;
  pick: number;
  version: VersionMode;
}

function planUpdate(model: Model, args: UpdateArgs): Op<Session> {
  const id = SLOT_IDS[args.slot]!;
  const expectedVersion = versionFor(visibleSession(model, id), args.version);
  const { slot: _slot, version: _version, expiresIn, ...fields } = args;
  const patch = {
    ...fields,
    ...(expiresIn === undefined ? {} : { expiresAt: expiresIn && model.now + expiresIn }),
  };
  const what = `update ${id} with ${JSON.stringify(patch)}`;
  return {
    send: (real) => attempt(real.store.update(real.tenant, id, patch, { expectedVersion })),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", what);
      if (versionMoved(s, expectedVersion)) return expectCode(out, "conflict", `${what} at a moved version`);
      Object.assign(s, structuredClone(patch));
      s.version += 1;
      s.updatedAt = m.now;
      checkSession(m, s, expectValue(out, what), what);
    },
  };
}

interface UpdateArgs {
  slot: number;
  version: VersionMode;
  owner?: string | null;
  metadata?: Record<string, string>;
  labels?: string[];
  pinned?: boolean;
  status?: "active" | "archived";
  idleTtlMs?: number | null;
  /** Relative to now; negative sets an expiry already reached, which expires the session at once. */
  expiresIn?: number | null;
}

function planPatchState(model: Model, args: PatchArgs): Op<Session> {
  const id = SLOT_IDS[args.slot]!;
  const expectedVersion = versionFor(visibleSession(model, id), args.version);
  const what = `patchState ${id} with ${JSON.stringify(args.patch)}`;
  return {
    send: (real) => attempt(real.store.patchState(real.tenant, id, args.patch, { expectedVersion })),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", what);
      if (versionMoved(s, expectedVersion)) return expectCode(out, "conflict", `${what} at a moved version`);
      s.state = mergePatch(s.state, args.patch) as JsonObject;
      s.version += 1;
      s.updatedAt = m.now;
      s.sealedBytes = null;
      checkSession(m, s, expectValue(out, what), what);
    },
  };
}

interface PatchArgs {
  slot: number;
  patch: JsonObject;
  version: VersionMode;
}

function planFork(_model: Model, args: ForkArgs): Op<Session> {
  const parentId = SLOT_IDS[args.from]!;
  const childId = SLOT_IDS[args.to]!;
  const what = `fork ${parentId} at ${args.atSeq ?? "its end"} into ${childId}`;
  const input = {
    id: childId,
    ...(args.atSeq === null ? {} : { atSeq: args.atSeq }),
    ...(args.metadata === null ? {} : { metadata: args.metadata }),
    ...(args.pinned === null ? {} : { pinned: args.pinned }),
  };
  return {
    send: (real) => attempt(real.store.fork(real.tenant, parentId, input)),
    check: (m, out) => {
      const parent = visibleSession(m, parentId);
      if (!parent) return expectCode(out, "not_found", what);
      const atSeq = args.atSeq ?? parent.lastSeq;
      if (atSeq > parent.lastSeq) return expectCode(out, "invalid_argument", `${what} past its end`);
      if (m.sessions.has(childId)) return expectCode(out, "conflict", `${what} over an existing id`);
      const child = newSession(m, childId, {
        owner: parent.owner,
        metadata: { ...(args.metadata ?? parent.metadata) },
        labels: [...parent.labels],
        state: structuredClone(parent.state),
        lastSeq: atSeq,
        items: parent.items
          .filter((i) => i.seq <= atSeq)
          .map((i) => ({ ...i, content: structuredClone(i.content), bytes: m.sealed ? null : i.bytes })),
        idleTtlMs: parent.idleTtlMs,
        expiresAt: parent.expiresAt,
        pinned: args.pinned ?? false,
        forkParent: { sessionId: parentId, atSeq },
      });
      checkSession(m, child, expectValue(out, what), what);
      m.sessions.set(childId, child);
    },
  };
}

interface ForkArgs {
  from: number;
  to: number;
  atSeq: number | null;
  metadata: Record<string, string> | null;
  pinned: boolean | null;
}

function planDelete(model: Model, args: { slot: number; version: VersionMode }): Op<void> {
  const id = SLOT_IDS[args.slot]!;
  const expectedVersion = versionFor(visibleSession(model, id), args.version);
  return {
    send: (real) => attempt(real.store.delete(real.tenant, id, { expectedVersion })),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", `delete ${id}`);
      if (versionMoved(s, expectedVersion))
        return expectCode(out, "conflict", `delete ${id} at a moved version`);
      expectValue(out, `delete ${id}`);
      m.sessions.delete(id);
    },
  };
}

function planTouch(_model: Model, args: { slot: number }): Op<Session> {
  const id = SLOT_IDS[args.slot]!;
  return {
    send: (real) => attempt(real.store.touch(real.tenant, id)),
    check: (m, out) => {
      const s = visibleSession(m, id);
      if (!s) return expectCode(out, "not_found", `touch ${id}`);
      s.lastActiveAt = m.now;
      checkSession(m, s, expectValue(out, `touch ${id}`), `touch ${id}`);
    },
  };
}

const createArgsArb = (slot: fc.Arbitrary<number>): fc.Arbitrary<CreateArgs> =>
  fc.record({
    slot,
    items: itemsArb(0, 4),
    owner: ownerArb,
    metadata: metadataArb,
    labels: labelsArb,
    state: stateArb,
    idleTtlMs: fc.constantFrom(null, null, null, 5_000, 600_000),
    expiresIn: fc.constantFrom(null, null, null, 20_000),
    pinned: fc.boolean(),
  });

const createArb = createArgsArb(slotArb).map((a) => planned("create", a, planCreate));

/** Creates of distinct slots to start a run with, so that most commands meet a session. */
export const initialCreates: fc.Arbitrary<ModelCommand[]> = fc
  .subarray(SLOT_IDS.slice(1).map((_, i) => i + 1))
  .map((others) => [0, ...others])
  .chain((slots) => fc.tuple(...slots.map((slot) => createArgsArb(fc.constant(slot)))))
  .map((all) => all.map((a) => planned("create", a, planCreate)));

/** The writes that are one store call each, for concurrent groups too. */
export const writeOps = {
  create: createArb,
  deleteItem: fc
    .record({
      slot: slotArb,
      live: fc.nat({ max: 4 }).map((n) => n > 0),
      pick: fc.nat(),
      version: versionArb,
    })
    .map((a) => planned("deleteItem", a, planDeleteItem)),
  update: fc
    .record({
      slot: slotArb,
      version: versionArb,
      // One or two fields per update, so a session lives through several of them.
      changes: fc.array(
        fc.oneof(
          ownerArb.map((owner) => ({ owner })),
          metadataArb.map((metadata) => ({ metadata })),
          labelsArb.map((labels) => ({ labels })),
          fc.boolean().map((pinned) => ({ pinned })),
          fc.constantFrom("active" as const, "archived" as const).map((status) => ({ status })),
          idleTtlArb.map((idleTtlMs) => ({ idleTtlMs })),
          fc.constantFrom(null, 3_000, 3_000, 3_000, -1).map((expiresIn) => ({ expiresIn })),
        ),
        { minLength: 1, maxLength: 2 },
      ),
    })
    .map(({ changes, ...a }): UpdateArgs => Object.assign(a, ...changes))
    .map((a) => planned("update", a, planUpdate)),
  patchState: fc
    .record({ slot: slotArb, patch: statePatchArb, version: versionArb })
    .map((a) => planned("patchState", a, planPatchState)),
  fork: fc
    .record({
      from: slotArb,
      to: slotArb,
      atSeq: fc.option(fc.nat({ max: 8 }), { nil: null }),
      metadata: fc.option(metadataArb, { nil: null }),
      pinned: fc.option(fc.boolean(), { nil: null }),
    })
    .map((a) => planned("fork", a, planFork)),
  delete: fc.record({ slot: slotArb, version: versionArb }).map((a) => planned("delete", a, planDelete)),
  touch: fc.record({ slot: slotArb }).map((a) => planned("touch", a, planTouch)),
};

export const writeCommands: fc.Arbitrary<ModelCommand>[] = [
  ...Object.values(writeOps),
  writeOps.create,
  fc.constantFrom(1, 1, 1_000, 4_000, 70_000).map((ms) =>
    command("tick", { ms }, async (m, r) => {
      m.now += ms;
      r.clock.now = m.now;
    }),
  ),
];

/** The model-based case's appends: plain, retried under an operation id, and under turn claims. */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { AppendResult, ItemInput, TurnClaim } from "../../../src/store/types.ts";
import {
  attempt,
  checkItems,
  command,
  expectCode,
  expectValue,
  type ModelCommand,
  type Op,
  type Outcome,
  planned,
  type Real,
  type VersionMode,
  versionFor,
  versionMoved,
} from "./expect.ts";
import { hasDuplicateIds, type ItemSpec, itemsArb, slotArb, toInput, versionArb } from "./inputs.ts";
import { appended, type Model, type ModelSession, SLOT_IDS, visibleSession } from "./state.ts";

/** One append as sent: its expected version was taken from the model when it was sent. */
interface AppendCall {
  slot: number;
  inputs: ItemInput[];
  operationId: string | undefined;
  expectedVersion: number | undefined;
  claim: TurnClaim | undefined;
}

function appendCall(
  model: Model,
  slot: number,
  inputs: ItemInput[],
  options: { operationId: string | undefined; version: VersionMode; claim: TurnClaim | undefined },
): AppendCall {
  const s = visibleSession(model, SLOT_IDS[slot]!);
  return { slot, inputs, ...options, expectedVersion: versionFor(s, options.version) };
}

function send(real: Real, call: AppendCall): Promise<Outcome<AppendResult>> {
  const { operationId, expectedVersion, claim } = call;
  return attempt(
    real.store.append(real.tenant, SLOT_IDS[call.slot]!, call.inputs, {
      operationId,
      expectedVersion,
      ...(claim === undefined ? {} : { claim }),
    }),
  );
}

/** Sets or gives up the session's claim as a committed (or replayed) append with `claim` asks. */
function applyClaim(model: Model, s: ModelSession, claim: TurnClaim | undefined): void {
  if (claim) s.claim = claim.release ? null : { holder: claim.holder, until: model.now + claim.ttlMs };
}

/** Asserts `out` is what the model answers to `call`, and applies the append to the model. */
function checkAppend(model: Model, call: AppendCall, out: Outcome<AppendResult>): undefined {
  const { inputs, operationId, expectedVersion, claim } = call;
  const id = SLOT_IDS[call.slot]!;
  const s = visibleSession(model, id);
  const payload = JSON.stringify(inputs);
  const what = `append to ${id}${claim ? ` claiming ${JSON.stringify(claim)}` : ""}`;
  if (inputs.length === 0 || hasDuplicateIds(inputs)) {
    // Which of two faults is reported first is not specified: the encryption decorator looks the
    // session's key up (not_found) before the core validates the batch.
    return expectCode(out, s ? "invalid_argument" : ["invalid_argument", "not_found"], what);
  }
  if (!s) return expectCode(out, "not_found", what);
  const held = s.claim;
  if (claim && held && held.holder !== claim.holder && held.until > model.now)
    return expectCode(out, "conversation_busy", `${what} while ${held.holder} holds it`);
  const done = operationId === undefined ? undefined : s.operations.get(operationId);
  if (done && done.payload !== payload) return expectCode(out, "idempotency_conflict", what);
  if (done) {
    const { items, ...head } = expectValue(out, `${what} (replay)`);
    const { version, firstSeq, lastSeq } = done;
    assert.deepEqual(head, { version, firstSeq, lastSeq, replayed: true }, `${what} (replay)`);
    const left = s.items.filter((i) => i.seq >= firstSeq && i.seq <= lastSeq);
    checkItems(left, items, `${what} (replay items)`);
    applyClaim(model, s, claim);
    return;
  }
  if (s.status === "archived") return expectCode(out, "session_archived", what);
  if (versionMoved(s, expectedVersion)) return expectCode(out, "conflict", `${what} at a moved version`);
  if (inputs.some((i) => i.id !== undefined && s.items.some((m) => m.id === i.id)))
    return expectCode(out, "conflict", `${what} with an existing item id`);
  const items = appended(model, s, inputs);
  const next = { version: s.version + 1, firstSeq: s.lastSeq + 1, lastSeq: s.lastSeq + items.length };
  const { items: got, ...head } = expectValue(out, what);
  assert.deepEqual(head, { ...next, replayed: false }, what);
  checkItems(items, got, `${what} (items)`);
  s.items.push(...items);
  Object.assign(s, {
    version: next.version,
    lastSeq: next.lastSeq,
    updatedAt: model.now,
    lastActiveAt: model.now,
  });
  if (s.sealedBytes !== null) s.sealedBytes += items.reduce((n, i) => n + (i.bytes ?? 0), 0);
  if (operationId !== undefined) s.operations.set(operationId, { payload, ...next });
  applyClaim(model, s, claim);
}

function operationsOf(model: Readonly<Model>, slot: number) {
  const s = visibleSession(model as Model, SLOT_IDS[slot]!);
  return s ? [...s.operations.entries()] : [];
}

const opArb = fc.option(fc.constantFrom("op-1", "op-2", "op-3"), { nil: undefined });
const holderArb = fc.constantFrom("turn-1", "turn-2");
const claimArb: fc.Arbitrary<TurnClaim | undefined> = fc.option(
  fc.record({ holder: holderArb, ttlMs: fc.constantFrom(2_000, 60_000), release: fc.boolean() }),
  { nil: undefined, freq: 2 },
);

async function runRenewClaim(
  model: Model,
  real: Real,
  args: { slot: number; holder: string; ttlMs: number },
) {
  const id = SLOT_IDS[args.slot]!;
  const s = visibleSession(model, id);
  const renewed = await real.store.renewClaim(real.tenant, id, args.holder, args.ttlMs);
  // Its own claim, expired or not, as long as nobody took it over.
  const holds = s !== null && s.claim?.holder === args.holder;
  assert.equal(
    renewed,
    holds,
    `renewClaim ${JSON.stringify(args)} while ${JSON.stringify(s?.claim ?? null)}`,
  );
  if (holds) s.claim = { holder: args.holder, until: model.now + args.ttlMs };
}

async function runReleaseClaim(model: Model, real: Real, args: { slot: number; holder: string }) {
  const id = SLOT_IDS[args.slot]!;
  await real.store.releaseClaim(real.tenant, id, args.holder);
  const s = model.sessions.get(id);
  if (s?.claim?.holder === args.holder) s.claim = null;
}

const appendArgsArb = fc.record({
  slot: slotArb,
  items: fc.oneof(
    { weight: 9, arbitrary: itemsArb(1, 4) },
    { weight: 1, arbitrary: fc.constant<ItemSpec[]>([]) },
  ),
  op: opArb,
  version: versionArb,
  claim: claimArb,
});

type AppendArgs = typeof appendArgsArb extends fc.Arbitrary<infer T> ? T : never;

const callOf = (model: Model, { slot, items, op, version, claim }: AppendArgs): AppendCall =>
  appendCall(model, slot, items.map(toInput), { operationId: op, version, claim });

function planAppend(call: AppendCall): Op<AppendResult> {
  return { send: (real) => send(real, call), check: (model, out) => checkAppend(model, call, out) };
}

/** Appends weigh most: most other commands need items to act on. */
export const appendArb = appendArgsArb.map((a) =>
  planned("append", a, (model, args) => planAppend(callOf(model, args))),
);

export const appendCommands: fc.Arbitrary<ModelCommand>[] = [
  appendArb,
  appendArb,
  appendArb,
  fc.record({ slot: slotArb, pick: fc.nat(), version: versionArb, claim: claimArb }).map((a) =>
    planned(
      "retryAppend",
      a,
      (model, { slot, pick, version, claim }) => {
        const ops = operationsOf(model, slot);
        const [operationId, done] = ops[pick % ops.length]!;
        const inputs = JSON.parse(done.payload) as ItemInput[];
        return planAppend(appendCall(model, slot, inputs, { operationId, version, claim }));
      },
      (model, { slot }) => operationsOf(model, slot).length > 0,
    ),
  ),
  fc
    .record({ slot: slotArb, holder: holderArb, ttlMs: fc.constantFrom(2_000, 60_000) })
    .map((a) => command("renewClaim", a, runRenewClaim)),
  fc.record({ slot: slotArb, holder: holderArb }).map((a) => command("releaseClaim", a, runReleaseClaim)),
];

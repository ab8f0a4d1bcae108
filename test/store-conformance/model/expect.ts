/**
 * Comparing a real store's answers with the model: outcomes (a value or an error code), whole
 * sessions and whole items. Sealed stores' byte sizes are learned from their first answer and
 * held to it from then on; every other field is predicted.
 */
import assert from "node:assert/strict";
import type fc from "fast-check";
import type { Item, Session, SessionStore } from "../../../src/store/types.ts";
import type { ConformanceClock } from "../index.ts";
import { expectedSession, type Model, type ModelItem, type ModelSession } from "./state.ts";

/** The system under test of one run: a store, the run's own tenant, the clock its core reads. */
export interface Real {
  store: SessionStore;
  tenant: string;
  clock: ConformanceClock;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export async function attempt<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, code: typeof code === "string" ? code : "(no code)", message: String(error) };
  }
}

export function expectCode(outcome: Outcome<unknown>, code: string | string[], what: string): undefined {
  const codes = typeof code === "string" ? [code] : code;
  if (outcome.ok)
    assert.fail(`${what}: expected ${codes.join(" or ")}, got a success: ${JSON.stringify(outcome.value)}`);
  assert.ok(codes.includes(outcome.code), `${what}: expected ${codes.join(" or ")}, got ${outcome.message}`);
}

export function expectValue<T>(outcome: Outcome<T>, what: string): T {
  if (!outcome.ok) assert.fail(`${what}: expected a success, got ${outcome.message}`);
  return outcome.value;
}

/** Asserts `real` is what the model holds for `s`, learning a sealed store's byte size. */
export function checkSession(model: Model, s: ModelSession, real: Session, what: string): void {
  const expected = expectedSession(model, s);
  if (expected.bytes === null) {
    s.sealedBytes = real.bytes;
    expected.bytes = real.bytes;
  }
  assert.deepEqual(real, expected, `${what}: session ${s.id}`);
}

/** Asserts `real` are exactly the model's `items`, in order, learning generated ids and sealed sizes. */
export function checkItems(items: readonly ModelItem[], real: readonly Item[], what: string): void {
  assert.deepEqual(
    real.map((i) => i.seq),
    items.map((i) => i.seq),
    `${what}: seqs`,
  );
  items.forEach((item, index) => {
    const got = real[index]!;
    if (item.id === "") {
      assert.match(got.id, /^[A-Za-z0-9_-]{1,128}$/, `${what}: generated item id`);
      item.id = got.id;
    }
    if (item.bytes === null) item.bytes = got.bytes;
    assert.deepEqual(got, { ...item }, `${what}: item at seq ${item.seq}`);
  });
}

/** The expected version to send: none, the session's current one, or one that moved. */
export type VersionMode = "none" | "current" | "stale";

export function versionFor(s: ModelSession | null, mode: VersionMode): number | undefined {
  if (mode === "none") return undefined;
  const current = s?.version ?? 1;
  return mode === "current" ? current : current - 1;
}

/** True when the write must fail with `conflict` because of its expected version. */
export function versionMoved(s: ModelSession, expected: number | undefined): boolean {
  return expected !== undefined && expected !== s.version;
}

export type ModelCommand = fc.AsyncCommand<Model, Real>;

/**
 * One store call planned from the model as it is when the call is sent (which item, which
 * expected version), then checked against the model as it is when the call takes effect: the
 * same model for a command alone, a model some other concurrent calls already changed otherwise.
 */
export interface Op<T = unknown> {
  send(real: Real): Promise<Outcome<T>>;
  /** Asserts the outcome is the model's answer and applies the call to the model. */
  check(model: Model, outcome: Outcome<T>): void;
  /** Alone only: what to do after the check (e.g. read back what the call's answer did not show). */
  after?(model: Model, real: Real): Promise<void>;
}

/** A command planning one call from its generated arguments. */
export function planned<A>(
  name: string,
  args: A,
  plan: (model: Model, args: A) => Op,
  check: (model: Readonly<Model>, args: A) => boolean = () => true,
): ModelCommand & { plan: (model: Model) => Op } {
  return {
    plan: (model) => plan(model, args),
    check: (model) => check(model, args),
    run: async (model, real) => {
      const op = plan(model, args);
      op.check(model, await op.send(real));
      await op.after?.(model, real);
    },
    toString: () => `${name}(${JSON.stringify(args)})`,
  };
}

/** A command from its name, its generated arguments and what it does. */
export function command<A>(
  name: string,
  args: A,
  run: (model: Model, real: Real, args: A) => Promise<void>,
): ModelCommand {
  return {
    check: () => true,
    run: (model, real) => run(model, real, args),
    toString: () => `${name}(${JSON.stringify(args)})`,
  };
}

/**
 * Several calls at once: appends, other writes and reads sent together must be linearizable —
 * their answers are those of the model taking them one at a time in some order (each order of
 * the few sent is tried, the order sent first). Drivers batch concurrent appends (Postgres),
 * group-commit writes (SQLite) or run them as scripts (Redis); this is where they could differ.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { appendArb } from "./append.ts";
import { checkItems, type ModelCommand, type Op, type Real } from "./expect.ts";
import { readOps } from "./reads.ts";
import { isVisible, type Model } from "./state.ts";
import { writeOps } from "./writes.ts";

function permutations<T>(list: T[]): T[][] {
  if (list.length <= 1) return [list];
  return list.flatMap((head, i) =>
    permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((rest) => [head, ...rest]),
  );
}

type Planned = ModelCommand & { plan: (model: Model) => Op };

async function runConcurrent(model: Model, real: Real, commands: Planned[]): Promise<void> {
  const ops = commands.filter((c) => c.check(model)).map((c) => c.plan(model));
  const outcomes = await Promise.all(ops.map((op) => op.send(real)));
  let firstError: unknown;
  for (const order of permutations(ops.map((_, i) => i))) {
    const candidate: Model = { ...model, sessions: structuredClone(model.sessions) };
    try {
      for (const i of order) ops[i]!.check(candidate, outcomes[i]!);
    } catch (error) {
      firstError ??= error;
      continue;
    }
    model.sessions = candidate.sessions;
    // Read every session back: what the answers did not show (e.g. a create's generated ids) too.
    for (const s of model.sessions.values()) {
      if (!isVisible(s, model.now)) continue;
      checkItems(
        s.items,
        await real.store.readItems(real.tenant, s.id, { limit: 10_000 }),
        "after concurrent calls",
      );
    }
    return;
  }
  const answers = outcomes.map((o) => (o.ok ? "ok" : o.code));
  assert.fail(
    `no order of the concurrent calls [${commands.map(String).join(", ")}] answers ${JSON.stringify(answers)}; ` +
      `in the order sent: ${String(firstError)}`,
  );
}

const pool: fc.Arbitrary<Planned>[] = [
  appendArb,
  appendArb,
  appendArb,
  ...Object.values(writeOps),
  ...Object.values(readOps),
];

export const concurrentCommand: fc.Arbitrary<ModelCommand> = fc
  .array(fc.oneof(...pool), { minLength: 2, maxLength: 4 })
  .map((commands) => ({
    check: () => true,
    run: (model, real) => runConcurrent(model, real, commands),
    toString: () => `concurrent(${commands.map(String).join(", ")})`,
  }));

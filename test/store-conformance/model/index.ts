/**
 * The model-based conformance case: random sequences of creates, appends (with operation ids,
 * retries and expected versions), item deletions, updates, state patches, forks, deletes,
 * touches, turn claims and clock moves, interleaved with every kind of read and with groups of
 * calls sent at once (concurrent.ts), each answer compared with a
 * small model of the tenant's sessions (state.ts). A failure is shrunk to a minimal sequence.
 *
 * Runs: `HOLDFAST_MODEL_RUNS` sequences (default 40) of at most `HOLDFAST_MODEL_COMMANDS`
 * commands (default 25) from seed `HOLDFAST_MODEL_SEED` (default fixed, so a run is
 * reproducible); `HOLDFAST_MODEL_PATH` replays the failing case fast-check reported.
 */
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ConformanceContext } from "../index.ts";
import { appendCommands } from "./append.ts";
import { concurrentCommand } from "./concurrent.ts";
import type { Real } from "./expect.ts";
import { readCommands } from "./reads.ts";
import type { Model } from "./state.ts";
import { initialCreates, writeCommands } from "./writes.ts";

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value))
    throw new Error(`${name} must be an integer (got ${JSON.stringify(raw)}).`);
  return value;
}

export function testModelCases({ store, tenant, clock, sealed }: ConformanceContext): void {
  describe("model", () => {
    it("answers every command like a model of its sessions (property)", async () => {
      const path = process.env.HOLDFAST_MODEL_PATH;
      await fc.assert(
        fc.asyncProperty(
          initialCreates,
          fc.commands(
            [...writeCommands, ...appendCommands, ...readCommands, concurrentCommand, concurrentCommand],
            {
              maxCommands: envInt("HOLDFAST_MODEL_COMMANDS", 25),
              size: "max",
            },
          ),
          async (initial, commands) => {
            const real: Real = { store: store(), tenant: tenant(), clock };
            const model: Model = { tenant: real.tenant, now: clock.now, sealed, sessions: new Map() };
            await fc.asyncModelRun(async () => {
              for (const create of initial) await create.run(model, real);
              return { model, real };
            }, commands);
          },
        ),
        {
          numRuns: envInt("HOLDFAST_MODEL_RUNS", 40),
          seed: envInt("HOLDFAST_MODEL_SEED", 20_260_101),
          ...(path ? { path } : {}),
        },
      );
    });
  });
}

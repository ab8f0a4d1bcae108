/**
 * The store conformance suite: the specification of the SessionStore contract. Every driver's
 * test file calls `testStoreConformance` and must pass it unchanged.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe } from "node:test";
import type { JsonObject, SessionStore } from "../../src/store/types.ts";
import { testAppendCases } from "./append.ts";
import { testClaimCases } from "./claims.ts";
import { testConcurrencyCases } from "./concurrency.ts";
import { testDeleteItemCases } from "./delete-item.ts";
import { testForkRaceCases } from "./fork-races.ts";
import { testLifecycleCases } from "./lifecycle.ts";
import { testListCases } from "./list.ts";
import { testMediaCases } from "./media.ts";
import { testModelCases } from "./model/index.ts";
import { testRaceCases } from "./races.ts";
import { testSizeLimitCases } from "./size-limits.ts";
import { testValueCases } from "./values.ts";
import { testWindowCases } from "./window.ts";

export interface ConformanceClock {
  now: number;
}

export interface ConformanceOptions {
  /** Shown in test names. */
  name: string;
  /** Opens a store whose core reads time from `clock.now`. */
  open: (clock: () => number) => Promise<SessionStore>;
  /** The store encrypts contents (withEncryption): byte sizes are the ciphertext's, not the JSON's. */
  sealed?: boolean;
}

/** What every case file receives: the open store, a clock to move, a fresh tenant per case. */
export interface ConformanceContext {
  store: () => SessionStore;
  clock: ConformanceClock;
  tenant: () => string;
  /** See ConformanceOptions.sealed. */
  sealed: boolean;
}

export function testStoreConformance(options: ConformanceOptions): void {
  describe(`store conformance: ${options.name}`, () => {
    const clock: ConformanceClock = { now: Date.UTC(2026, 0, 1) };
    let store: SessionStore | undefined;
    before(async () => {
      store = await options.open(() => clock.now);
    });
    after(async () => {
      await store?.close();
    });
    const ctx: ConformanceContext = {
      store: () => {
        assert.ok(store, "store not opened");
        return store;
      },
      clock,
      tenant: () => `t-${randomBytes(6).toString("hex")}`,
      sealed: options.sealed ?? false,
    };
    testLifecycleCases(ctx);
    testAppendCases(ctx);
    testConcurrencyCases(ctx);
    testForkRaceCases(ctx);
    testRaceCases(ctx);
    testClaimCases(ctx);
    testWindowCases(ctx);
    testMediaCases(ctx);
    testListCases(ctx);
    testDeleteItemCases(ctx);
    testValueCases(ctx);
    testSizeLimitCases(ctx);
    testModelCases(ctx);
  });
}

/** A message item body in Responses shape. */
export function message(role: string, text: string): { content: JsonObject } {
  const type = role === "assistant" ? "output_text" : "input_text";
  return { content: { type: "message", role, content: [{ type, text }] } };
}

/** Deep-freezes a value so any mutation by the store throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, `expected code ${code}, got ${String(error)}`);
    return true;
  });
}

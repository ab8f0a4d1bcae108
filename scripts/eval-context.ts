/**
 * `npm run eval:context [-- --json] [--quick]`: generated long, tool-heavy agent histories
 * (50k–500k tokens, seeded) fitted to a window by three strategies — plain truncation, pruning,
 * pruning + compaction with the built-in mock summarizer — reporting tokens sent, items kept,
 * how far back the window reaches, and invariant violations (must be 0; exit code 1 otherwise).
 * Also reports the calibrated estimate's error against o200k_base per kind of text.
 */
import { createRequire } from "node:module";
import { compact } from "../src/engine/context/compact.ts";
import { estimateTextTokens } from "../src/engine/context/estimate.ts";
import { checkWindowInvariants } from "../src/engine/context/invariants.ts";
import { generateHistoryInputs } from "../src/engine/context/synthetic-history.ts";
import { createRandom, generateText, TEXT_KINDS } from "../src/engine/context/synthetic-text.ts";
import { createTokenCounter } from "../src/engine/context/token-counter.ts";
import { buildWindow, type ContextWindow } from "../src/engine/context/window.ts";
import { createStore } from "../src/store/create-store.ts";
import type { Item } from "../src/store/types.ts";

const json = process.argv.includes("--json");
const quick = process.argv.includes("--quick");
const SIZES = quick ? [50_000] : [50_000, 100_000, 200_000, 500_000];
const MODEL = "gpt-4o";
const BUDGET_CAP = 32_000; // input cap so every history overflows the window and strategies differ
const TENANT = "eval";

interface Row {
  historyTokens: number;
  historyItems: number;
  strategy: string;
  tokensSent: number;
  budget: number;
  itemsKept: number;
  dropped: number;
  softTrims: number;
  hardClears: number;
  /** Oldest seq whose content reaches the model (verbatim or through the summary). */
  reachSeq: number;
  violations: number;
  ms: number;
}

function row(history: Item[], strategy: string, w: ContextWindow, ms: number, alternation = false): Row {
  const regular = w.items.filter((i) => i.type !== "summary" && i.content.role !== "system");
  const summary = w.items.find((i) => i.type === "summary");
  return {
    historyTokens: history.reduce((s, i) => s + (i.type === "summary" ? 0 : i.tokens), 0),
    historyItems: history.filter((i) => i.type !== "summary").length,
    strategy,
    tokensSent: w.tokens,
    budget: w.budget,
    itemsKept: w.items.length,
    dropped: w.droppedCount,
    softTrims: w.pruning.filter((p) => p.action === "soft_trim").length,
    hardClears: w.pruning.filter((p) => p.action === "hard_clear").length,
    reachSeq: summary ? 1 : (regular[0]?.seq ?? 0),
    violations: checkWindowInvariants(history, w, alternation).length,
    ms: Math.round(ms * 100) / 100,
  };
}

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const value = fn();
  return [value, performance.now() - t0];
}

async function evaluate(size: number, seed: number): Promise<Row[]> {
  const count = createTokenCounter(MODEL);
  const inputs = generateHistoryInputs({ seed, targetTokens: size, countTokens: count });
  const store = await createStore({ url: "memory:", countTokens: count });
  const session = await store.create(TENANT);
  for (let i = 0; i < inputs.length; i += 1000)
    await store.append(TENANT, session.id, inputs.slice(i, i + 1000));
  const load = () =>
    store.readItems(TENANT, session.id, { limit: 10_000 }).then(async (first) => {
      const all = [...first];
      while (all.length % 10_000 === 0 && all.length > 0) {
        const next = await store.readItems(TENANT, session.id, {
          afterSeq: all.at(-1)?.seq ?? 0,
          limit: 10_000,
        });
        if (next.length === 0) break;
        all.push(...next);
      }
      return all;
    });
  const history = await load();
  const options = { model: MODEL, maxInputTokens: BUDGET_CAP };
  const rows: Row[] = [];
  const [plain, t1] = timed(() => buildWindow(history, { ...options, pruning: false }));
  rows.push(row(history, "truncation", plain, t1));
  const [pruned, t2] = timed(() => buildWindow(history, { ...options, pruning: true }));
  rows.push(row(history, "pruning", pruned, t2));
  const t3 = performance.now();
  await compact(store, TENANT, session.id, { model: MODEL, keepRecentTokens: Math.floor(BUDGET_CAP * 0.6) });
  const compacted = await load();
  const withSummary = buildWindow(compacted, { ...options, pruning: true });
  rows.push(row(compacted, "pruning+compaction", withSummary, performance.now() - t3));
  // The same, for an Anthropic model that needs alternation (counts re-scaled from o200k).
  const claude = buildWindow(compacted, {
    model: "claude-sonnet-4-5",
    maxInputTokens: BUDGET_CAP,
    tokenScale: 1.2,
  });
  rows.push(row(compacted, "pruning+compaction (claude, alternation)", claude, 0, true));
  await store.close();
  return rows;
}

function estimatorErrors(): Array<{
  kind: string;
  samples: number;
  meanError: number;
  meanAbsError: number;
  maxAbsError: number;
}> {
  const o200k = createRequire(import.meta.url)("gpt-tokenizer/cjs/encoding/o200k_base") as {
    countTokens: (t: string, o: object) => number;
  };
  const random = createRandom(2026);
  return TEXT_KINDS.map((kind) => {
    const errors: number[] = [];
    for (let i = 0; i < 30; i++) {
      const text = generateText(random, kind, 300 + Math.floor(random() * 6000));
      const exact = o200k.countTokens(text, { disallowedSpecial: new Set() });
      errors.push((estimateTextTokens(text) - exact) / exact);
    }
    const abs = errors.map(Math.abs);
    const pct = (v: number) => Math.round(v * 1000) / 10;
    return {
      kind,
      samples: errors.length,
      meanError: pct(errors.reduce((a, b) => a + b, 0) / errors.length),
      meanAbsError: pct(abs.reduce((a, b) => a + b, 0) / abs.length),
      maxAbsError: pct(Math.max(...abs)),
    };
  });
}

function table(rows: Array<Record<string, unknown>>): string {
  const keys = Object.keys(rows[0] ?? {});
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(keys),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map((r) => line(keys.map((k) => String(r[k])))),
  ].join("\n");
}

const rows: Row[] = [];
for (const [i, size] of SIZES.entries()) rows.push(...(await evaluate(size, 100 + i)));
const estimate = estimatorErrors();
const violations = rows.reduce((s, r) => s + r.violations, 0);
if (json) {
  console.log(JSON.stringify({ model: MODEL, budgetCap: BUDGET_CAP, rows, estimate, violations }, null, 2));
} else {
  console.log(
    `Context eval — model ${MODEL}, input budget capped at ${BUDGET_CAP} tokens, mock summarizer\n`,
  );
  console.log(table(rows as unknown as Array<Record<string, unknown>>));
  console.log("\nCalibrated estimate vs o200k_base (percent; positive = overestimate)\n");
  console.log(table(estimate));
  console.log(`\ninvariant violations: ${violations}`);
}
process.exitCode = violations === 0 ? 0 : 1;

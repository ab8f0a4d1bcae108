/**
 * `npm run bench:context [-- --json]`
 *
 * 1. buildWindow over a loaded 100,000-item tool-heavy session, p50/p99 per scenario:
 *    warm (the window index of the loaded array is cached — a gateway that keeps the loaded
 *    items and appends), and cold (index built on the call: a freshly loaded array).
 * 2. Token counting throughput in MB/s of UTF-8 text per tokenizer (o200k_base, cl100k_base,
 *    the calibrated estimate) on mixed generated text, and per item through createTokenCounter.
 */

import { generateHistoryInputs, toItems } from "../src/engine/context/synthetic-history.ts";
import { createRandom, generateText, type TextKind } from "../src/engine/context/synthetic-text.ts";
import { createTokenCounter } from "../src/engine/context/token-counter.ts";
import { createTextCounter, type TokenizerName } from "../src/engine/context/tokenizers.ts";
import { type BuildWindowOptions, buildWindow } from "../src/engine/context/window.ts";
import { parseBenchArgs } from "./lib/args.ts";

const { json } = parseBenchArgs(
  "npm run bench:context --",
  "Context-window building over a 100,000-item session and token-counting throughput per tokenizer.",
  { json: { type: "boolean", default: false, help: "print the figures as JSON" } },
);
const ITEMS = 100_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function measure(runs: number, fn: () => void): { p50: number; p99: number } {
  for (let i = 0; i < Math.min(200, runs); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(samples, 0.5) * 10) / 10,
    p99: Math.round(percentile(samples, 0.99) * 10) / 10,
  };
}

const inputs = generateHistoryInputs({ seed: 1, targetItems: ITEMS, largeOutputShare: 0.1 });
const items = toItems(inputs);
const totalTokens = items.reduce((s, i) => s + i.tokens, 0);

const scenarios: Array<[string, BuildWindowOptions]> = [
  ["last 8k tokens, no pruning", { model: "gpt-4o", maxInputTokens: 8000, pruning: false }],
  ["gpt-4o full budget (111k), no pruning", { model: "gpt-4o", pruning: false }],
  ["gpt-4o full budget, pruning", { model: "gpt-4o" }],
  ["claude-sonnet-4-5 (alternation), pruning", { model: "claude-sonnet-4-5" }],
];
const windowRows = scenarios.map(([name, options]) => {
  const warm = measure(2000, () => buildWindow(items, options));
  const cold = measure(20, () => buildWindow([...items], options));
  const w = buildWindow(items, options);
  return {
    scenario: name,
    items: w.items.length,
    tokens: w.tokens,
    warmP50us: warm.p50,
    warmP99us: warm.p99,
    coldP50us: cold.p50,
    coldP99us: cold.p99,
  };
});

// Text in item-sized chunks (4,000 characters, under maxExactChars so OpenAI encodings are
// exact), fresh seeded text per group. BPE speed depends on the text's novelty (gpt-tokenizer's
// bounded merge cache), so Latin-script and CJK text are reported apart.
const GROUPS: Array<[string, TextKind[]]> = [
  [
    "latin (prose, code, json, logs, markdown, fr, de, ru)",
    ["prose", "code", "json", "logs", "markdown", "french", "german", "russian"],
  ],
  ["cjk (zh, ja)", ["chinese", "japanese"]],
];
const tokenizerRows = GROUPS.flatMap(([group, kinds], g) => {
  const random = createRandom(7 + g);
  const chunks: string[] = [];
  let size = 0;
  while (size < (g === 0 ? 2_000_000 : 300_000)) {
    const chunk = generateText(random, kinds[chunks.length % kinds.length] ?? "prose", 4000);
    chunks.push(chunk);
    size += Buffer.byteLength(chunk);
  }
  return (["o200k_base", "cl100k_base", "estimate"] as TokenizerName[]).map((name) => {
    const count = createTextCounter(name);
    count("warm up");
    const t0 = performance.now();
    let tokens = 0;
    for (const chunk of chunks) tokens += count(chunk);
    const s = (performance.now() - t0) / 1000;
    return {
      text: group,
      tokenizer: name,
      mb: Math.round(size / 1e4) / 100,
      tokens,
      mbPerS: Math.round((size / 1e6 / s) * 10) / 10,
    };
  });
});
const itemCounter = createTokenCounter("gpt-4o");
const sample = inputs.slice(0, 5_000).map((i) => i.content);
const itemBytes = sample.reduce((s, c) => s + Buffer.byteLength(JSON.stringify(c)), 0);
const t0 = performance.now();
for (const content of sample) itemCounter(content);
const itemSeconds = (performance.now() - t0) / 1000;
const itemRow = {
  counter: "createTokenCounter(gpt-4o) on generated agent items (mixed, incl. CJK)",
  items: sample.length,
  itemsPerS: Math.round(sample.length / itemSeconds),
  mbPerS: Math.round((itemBytes / 1e6 / itemSeconds) * 10) / 10,
};

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

if (json) {
  console.log(
    JSON.stringify(
      { items: ITEMS, totalTokens, windows: windowRows, tokenizers: tokenizerRows, items_counter: itemRow },
      null,
      2,
    ),
  );
} else {
  console.log(`buildWindow on a loaded ${ITEMS}-item session (${totalTokens} tokens), µs\n`);
  console.log(table(windowRows));
  console.log("\nToken counting throughput (UTF-8 text)\n");
  console.log(table(tokenizerRows));
  console.log("");
  console.log(table([itemRow]));
}

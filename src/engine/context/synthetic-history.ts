/**
 * Seeded generator of long, tool-heavy agent histories as loaded `Item`s (and as `ItemInput`s
 * for a real store). Shared by the tests, `npm run eval:context` and `npm run bench:context`.
 */
import type { Item, ItemInput, JsonObject, JsonValue } from "../../store/types.ts";
import {
  createRandom,
  generateText,
  int,
  pick,
  type Random,
  TEXT_KINDS,
  type TextKind,
} from "./synthetic-text.ts";

export interface HistoryOptions {
  seed: number;
  /** Stop once this many tokens were generated (approximate). */
  targetTokens?: number;
  /** Stop once this many items were generated. */
  targetItems?: number;
  /** Counts tokens per item body; default: characters / 4 (fast, for benchmarks). */
  countTokens?: (content: JsonObject) => number;
  /** Share of tool outputs that are large (2k–20k chars). Default 0.25. */
  largeOutputShare?: number;
}

const TOOLS = ["search_docs", "read_file", "run_sql", "http_get", "list_orders", "grep_logs"];

function message(role: string, text: string): JsonObject {
  return {
    type: "message",
    role,
    content: [{ type: role === "assistant" ? "output_text" : "input_text", text }],
  };
}

/** The item bodies of one agent turn: a user request, tool rounds (some parallel), an answer. */
function turn(random: Random, turnNo: number, largeShare: number): JsonObject[] {
  const out: JsonObject[] = [
    message(
      "user",
      generateText(random, pick(random, ["prose", "markdown", "french"]), int(random, 40, 600)),
    ),
  ];
  const rounds = int(random, 0, 6);
  for (let r = 0; r < rounds; r++) {
    const parallel = random() < 0.3 ? int(random, 2, 3) : 1;
    const ids: string[] = [];
    if (random() < 0.3)
      out.push({
        type: "reasoning",
        summary: [{ type: "summary_text", text: generateText(random, "prose", int(random, 50, 300)) }],
      });
    for (let p = 0; p < parallel; p++) {
      const id = `call_${turnNo}_${r}_${p}`;
      ids.push(id);
      out.push({
        type: "function_call",
        call_id: id,
        name: pick(random, TOOLS),
        arguments: JSON.stringify({ q: generateText(random, "prose", 40), limit: int(random, 1, 50) }),
      });
    }
    for (const id of ids) {
      const large = random() < largeShare;
      const kind = pick<TextKind>(random, ["json", "logs", "code", "markdown", ...TEXT_KINDS]);
      const output: JsonValue =
        random() < 0.05
          ? [
              { type: "input_text", text: "screenshot" },
              { type: "input_image", image_url: "https://example.com/s.png", detail: "low" },
            ]
          : generateText(random, kind, large ? int(random, 2000, 20000) : int(random, 80, 1500));
      out.push({ type: "function_call_output", call_id: id, output });
    }
  }
  out.push(message("assistant", generateText(random, "prose", int(random, 100, 1500))));
  return out;
}

/** Generates item bodies until the token or item target is reached. */
export function generateHistoryInputs(options: HistoryOptions): ItemInput[] {
  const random = createRandom(options.seed);
  const count = options.countTokens ?? ((c: JsonObject) => Math.ceil(JSON.stringify(c).length / 4));
  const largeShare = options.largeOutputShare ?? 0.25;
  const inputs: ItemInput[] = [
    { content: message("system", "You are a careful operations agent. Use tools; cite results."), tokens: 0 },
  ];
  inputs[0]!.tokens = count(inputs[0]!.content);
  let tokens = inputs[0]!.tokens ?? 0;
  for (let t = 0; ; t++) {
    for (const content of turn(random, t, largeShare)) {
      const n = count(content);
      inputs.push({ content, tokens: n });
      tokens += n;
    }
    if (options.targetTokens !== undefined && tokens >= options.targetTokens) break;
    if (options.targetItems !== undefined && inputs.length >= options.targetItems) break;
    if (options.targetTokens === undefined && options.targetItems === undefined) break;
  }
  return options.targetItems !== undefined ? inputs.slice(0, options.targetItems) : inputs;
}

/** Loaded items (as a store returns them) from item bodies. */
export function toItems(inputs: readonly ItemInput[], firstSeq = 1): Item[] {
  return inputs.map((input, i) => {
    const content = input.content;
    return {
      seq: firstSeq + i,
      id: `item_${firstSeq + i}`,
      type: String(content.type),
      role: typeof content.role === "string" ? content.role : null,
      status: null,
      content,
      tokens: input.tokens ?? Math.ceil(JSON.stringify(content).length / 4),
      bytes: JSON.stringify(content).length,
      turnId: null,
      createdAt: 0,
    };
  });
}

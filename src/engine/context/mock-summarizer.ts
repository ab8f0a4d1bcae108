/**
 * A deterministic, offline summarizer: extracts the goal, decisions, facts, open items and
 * recent context from items with simple heuristics. It is what tests, the eval and the `mock`
 * provider use; real deployments inject a model-backed summarizer. Output is bounded so repeat
 * compactions never grow the summary without limit.
 */
import type { Item, JsonValue } from "../../store/types.ts";
import type { Summarizer } from "./compact.ts";
import { isObject, roleOf } from "./items.ts";
import type { StructuredSummary } from "./summary.ts";

const LIMITS = { goal: 400, line: 160, decisions: 12, facts: 20, openItems: 10, recent: 3, recentChars: 240 };
const DECISION = /\b(decid|will |we'll|i'll|plan|chose|choose|going to|let's|switch|use )/i;
const OPEN = /(\?|\bTODO\b|\bplease\b|\bneed to\b|\bstill\b|\bpending\b|\bnext\b)/i;

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function textOf(value: JsonValue | undefined): string {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return "";
  return value
    .map((part) =>
      isObject(part) && typeof part.text === "string" ? part.text : typeof part === "string" ? part : "",
    )
    .join(" ");
}

function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function mergeCapped(previous: string[], next: string[], cap: number): string[] {
  const seen = new Set<string>();
  const all: string[] = [];
  for (const line of [...previous, ...next]) {
    if (!seen.has(line)) {
      seen.add(line);
      all.push(line);
    }
  }
  // Keep the newest when over the cap: recent decisions and facts matter most.
  return all.slice(Math.max(0, all.length - cap));
}

/** Summarizes items heuristically; `previous` (a folded-in earlier summary) is merged in. */
export function mockSummarize(items: readonly Item[], previous: StructuredSummary | null): StructuredSummary {
  let goal = previous?.goal ?? "";
  const decisions: string[] = [];
  const facts: string[] = [];
  const openItems: string[] = [];
  const recent: string[] = [];
  const calls = new Map<string, string>();
  for (const item of items) {
    const c = item.content;
    if (item.type === "message") {
      const role = roleOf(item) ?? "user";
      const text = textOf(c.content);
      if (text.length === 0) continue;
      if (role === "user" && goal === "") goal = clip(text, LIMITS.goal);
      for (const s of sentences(text)) {
        if (role === "assistant" && DECISION.test(s)) decisions.push(clip(s, LIMITS.line));
        else if (role === "user" && OPEN.test(s)) openItems.push(clip(s, LIMITS.line));
      }
      recent.push(`${role}: ${clip(text, LIMITS.recentChars)}`);
    } else if (item.type === "function_call" && typeof c.call_id === "string") {
      calls.set(c.call_id, `${String(c.name)}(${clip(String(c.arguments ?? ""), 60)})`);
    } else if (item.type === "function_call_output" && typeof c.call_id === "string") {
      const call = calls.get(c.call_id) ?? "tool";
      facts.push(`${call} → ${clip(textOf(c.output), LIMITS.line)}`);
    }
  }
  return {
    goal,
    decisions: mergeCapped(previous?.decisions ?? [], decisions, LIMITS.decisions),
    facts: mergeCapped(previous?.facts ?? [], facts, LIMITS.facts),
    openItems: mergeCapped(previous?.openItems ?? [], openItems, LIMITS.openItems),
    recentContext: recent.slice(-LIMITS.recent).join("\n") || (previous?.recentContext ?? ""),
  };
}

/** The built-in mock summarizer as an injectable `Summarizer`. */
export function createMockSummarizer(): Summarizer {
  return async (request) => mockSummarize(request.items, request.previous);
}

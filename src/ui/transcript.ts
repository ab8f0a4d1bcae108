/**
 * Turns stored items into what the dashboard shows: chat entries (messages, tool calls with
 * their outputs, summaries with the range they replace, reasoning) and per-turn records (model,
 * tokens, cost, and what the compaction a turn triggered spent) read from the response records
 * the turn engine stores.
 */
import type { Item, JsonObject, JsonValue } from "../store/types.ts";

export type EntryKind = "message" | "tool_call" | "tool_output" | "summary" | "reasoning" | "other";

export interface TranscriptEntry {
  seq: number;
  id: string;
  kind: EntryKind;
  type: string;
  role: string | null;
  /** Readable text of the item (message text, tool output, summary goal + facts). */
  text: string;
  tokens: number;
  createdAt: number;
  turnId: string | null;
  /** Tool calls and outputs: the call id that pairs them; calls: the function name and arguments. */
  callId?: string;
  name?: string;
  arguments?: string;
  /** Summaries: the seq range they stand in for. */
  covers?: { fromSeq: number; toSeq: number };
}

export interface TurnSummary {
  responseId: string;
  seq: number;
  model: string;
  servedBy: string | null;
  status: string;
  createdAt: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /** The turn's own call (as the usage route's per-turn `cost_usd`): its compaction is apart. */
  costUsd: number | null;
  outputItemIds: string[];
  /** The summarizer calls of the compaction the turn triggered; null when it made none. */
  compaction: TurnCompaction | null;
}

/** A response record's `compaction` entry: spent upstream on the turn's behalf, not in its `costUsd`. */
export interface TurnCompaction {
  calls: number;
  /** The model that served them. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number | null;
}

const RECORD_TYPE = "response_record";
const MAX_TEXT = 20_000;

function str(value: JsonValue | undefined): string {
  return typeof value === "string" ? value : "";
}

function num(value: JsonValue | undefined): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function isObj(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Text of a message `content`: a string or an array of parts with `text` / `refusal`. */
export function contentText(content: JsonValue | undefined): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => {
      if (!isObj(part)) return "";
      if (typeof part.text === "string") return part.text;
      if (typeof part.refusal === "string") return `[refusal] ${part.refusal}`;
      if (part.type === "input_image") return "[image]";
      if (part.type === "input_file") return "[file]";
      return "";
    })
    .filter(Boolean)
    .join("\n");
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

function summaryText(summary: JsonValue | undefined): string {
  if (!isObj(summary)) return "";
  const lines: string[] = [];
  if (summary.goal) lines.push(`Goal: ${str(summary.goal)}`);
  for (const [key, label] of [
    ["decisions", "Decisions"],
    ["facts", "Facts"],
    ["openItems", "Open items"],
  ] as const) {
    const list = summary[key];
    if (Array.isArray(list) && list.length > 0) lines.push(`${label}: ${list.map((v) => str(v)).join("; ")}`);
  }
  if (summary.recentContext) lines.push(`Recent: ${str(summary.recentContext)}`);
  return lines.join("\n");
}

/** One transcript entry per item (response records excluded: they become turns). */
export function toEntry(item: Item): TranscriptEntry {
  const c = item.content;
  const base = {
    seq: item.seq,
    id: item.id,
    type: item.type,
    role: item.role,
    tokens: item.tokens,
    createdAt: item.createdAt,
    turnId: item.turnId,
  };
  switch (item.type) {
    case "message":
      return { ...base, kind: "message", text: clip(contentText(c.content)) };
    case "function_call":
      return {
        ...base,
        kind: "tool_call",
        text: "",
        callId: str(c.call_id),
        name: str(c.name),
        arguments: clip(str(c.arguments)),
      };
    case "function_call_output":
      return {
        ...base,
        kind: "tool_output",
        text: clip(typeof c.output === "string" ? c.output : contentText(c.output)),
        callId: str(c.call_id),
      };
    case "summary": {
      const covers = isObj(c.covers)
        ? { fromSeq: num(c.covers.fromSeq), toSeq: num(c.covers.toSeq) }
        : undefined;
      return { ...base, kind: "summary", text: clip(summaryText(c.summary)), ...(covers ? { covers } : {}) };
    }
    case "reasoning": {
      // A summary (OpenAI's), else the reasoning text itself (an OpenAI-compatible Chat server's).
      const summary = contentText(Array.isArray(c.summary) ? c.summary : []);
      return { ...base, kind: "reasoning", text: clip(summary || contentText(c.content)) };
    }
    default:
      return { ...base, kind: "other", text: "" };
  }
}

/** The turn record stored as item `item`, or null when it is not a response record. */
export function toTurn(item: Item): TurnSummary | null {
  if (item.type !== RECORD_TYPE) return null;
  const c = item.content;
  const usage = isObj(c.usage) ? c.usage : {};
  const served = isObj(c.served_by) ? `${str(c.served_by.provider)}/${str(c.served_by.model)}` : null;
  const cost = c.cost_usd;
  return {
    responseId: item.id,
    seq: item.seq,
    model: str(c.model),
    servedBy: served,
    status: str(c.status),
    createdAt: num(c.created_at) * 1000 || item.createdAt,
    inputTokens: num(usage.input_tokens),
    outputTokens: num(usage.output_tokens),
    cachedTokens: num(usage.cached_tokens),
    costUsd: typeof cost === "number" ? cost : null,
    outputItemIds: Array.isArray(c.output_item_ids) ? c.output_item_ids.map((v) => str(v)) : [],
    compaction: isObj(c.compaction) ? toCompaction(c.compaction) : null,
  };
}

function toCompaction(c: JsonObject): TurnCompaction {
  return {
    calls: num(c.calls),
    model: str(c.model),
    inputTokens: num(c.input_tokens),
    outputTokens: num(c.output_tokens),
    cachedTokens: num(c.cached_tokens),
    costUsd: typeof c.cost_usd === "number" && Number.isFinite(c.cost_usd) ? c.cost_usd : null,
  };
}

/**
 * The compaction summary item. It is stored like any item (type `summary`) and stands in for
 * the seq range it covers when windows are built; providers never see it raw — it becomes a
 * developer (OpenAI) or user (Anthropic, Google) message through `summaryToMessage`.
 */
import type { Item, JsonObject, JsonValue } from "../../store/types.ts";
import { isObject, PIN_FIELD, participantNameOf, replayIdOf } from "./items.ts";

/** The structured summary a summarizer returns. */
export interface StructuredSummary {
  goal: string;
  decisions: string[];
  facts: string[];
  openItems: string[];
  recentContext: string;
}

/** Body of a `summary` item (`Item.content`). */
export interface SummaryContent {
  type: "summary";
  summary: StructuredSummary;
  /** Inclusive seq range of the items this summary replaces in windows. */
  covers: { fromSeq: number; toSeq: number };
  /** The model that wrote the summary. */
  model: string;
  /** Tokens of the covered items (including a folded-in previous summary). */
  tokens_before: number;
  /** Tokens of this summary item. */
  tokens_after: number;
}

export const SUMMARY_TYPE = "summary";

export function isSummaryItem(item: Item): boolean {
  return item.type === SUMMARY_TYPE && readCovers(item.content) !== null;
}

/** The covered range of a summary body, or null when the body is not a valid summary. */
export function readCovers(content: JsonObject): { fromSeq: number; toSeq: number } | null {
  const covers = content.covers;
  if (!isObject(covers)) return null;
  const { fromSeq, toSeq } = covers;
  if (!Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(toSeq)) return null;
  if ((fromSeq as number) < 1 || (toSeq as number) < (fromSeq as number)) return null;
  return { fromSeq: fromSeq as number, toSeq: toSeq as number };
}

function strings(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Reads the structured summary of a summary body, tolerating missing fields. */
export function readSummary(content: JsonObject): StructuredSummary {
  const s = isObject(content.summary) ? content.summary : {};
  return {
    goal: typeof s.goal === "string" ? s.goal : "",
    decisions: strings(s.decisions),
    facts: strings(s.facts),
    openItems: strings(s.openItems),
    recentContext: typeof s.recentContext === "string" ? s.recentContext : "",
  };
}

function section(title: string, lines: string[]): string {
  return lines.length === 0 ? "" : `\n## ${title}\n${lines.map((l) => `- ${l}`).join("\n")}\n`;
}

/** The text a model reads for a summary: a short preamble and the five sections. */
export function renderSummary(
  summary: StructuredSummary,
  covers?: { fromSeq: number; toSeq: number },
): string {
  const range = covers ? ` (items ${covers.fromSeq}–${covers.toSeq})` : "";
  return (
    `[holdfast: summary of the earlier conversation${range}; the full transcript is stored]\n` +
    (summary.goal ? `\n## Goal\n${summary.goal}\n` : "") +
    section("Decisions", summary.decisions) +
    section("Facts", summary.facts) +
    section("Open items", summary.openItems) +
    (summary.recentContext ? `\n## Recent context\n${summary.recentContext}\n` : "")
  );
}

/** Builds the body of a summary item. */
export function createSummaryContent(input: Omit<SummaryContent, "type">): JsonObject {
  const summary = input.summary;
  return {
    type: SUMMARY_TYPE,
    summary: {
      goal: summary.goal,
      decisions: [...summary.decisions],
      facts: [...summary.facts],
      openItems: [...summary.openItems],
      recentContext: summary.recentContext,
    },
    covers: { fromSeq: input.covers.fromSeq, toSeq: input.covers.toSeq },
    model: input.model,
    tokens_before: input.tokens_before,
    tokens_after: input.tokens_after,
  };
}

/**
 * The provider-facing form of a summary: a message with one `input_text` part. Use role
 * `developer` for OpenAI models and `user` for providers without developer messages
 * (Anthropic — where it also opens the conversation with the required user turn — and Google).
 */
export function summaryToMessage(content: JsonObject, role: "developer" | "user" = "developer"): JsonObject {
  const covers = readCovers(content) ?? undefined;
  return {
    type: "message",
    role,
    content: [{ type: "input_text", text: renderSummary(readSummary(content), covers) }],
  };
}

/**
 * Converts window items to what a provider receives: summary items become messages and the
 * Holdfast marker is removed — an encrypted reasoning item getting back, as `id`, the upstream id
 * the marker kept (`replayIdOf`), a message its participant name as `name` (`participantNameOf`:
 * the Chat Completions adapter sends it, the others leave it out). Other items pass through
 * untouched (same object).
 */
export function toModelInput(
  items: readonly Item[],
  summaryRole: "developer" | "user" = "developer",
): JsonObject[] {
  return items.map((item) => {
    if (item.type === SUMMARY_TYPE) return summaryToMessage(item.content, summaryRole);
    if (PIN_FIELD in item.content) {
      const { [PIN_FIELD]: _marker, ...rest } = item.content;
      const id = replayIdOf(item.content);
      const name = participantNameOf(item.content);
      const sent = name === null ? rest : { ...rest, name };
      return id === null ? sent : { id, ...sent };
    }
    return item.content;
  });
}

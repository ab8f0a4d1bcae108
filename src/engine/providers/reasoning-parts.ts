/**
 * The text of a reasoning item as it streams: its summary parts (`summary_text`, numbered by the
 * upstream's `summary_index`) and its readable reasoning parts (`reasoning_text`, by
 * `content_index`). Shared by the stream tracker (a partial item) and the Responses SSE writer
 * (the `.added` / `.done` events), so both number the parts alike.
 */
import type { OutputItem, TurnEvent } from "./types.ts";

/** One streamed part: the upstream's index for it, its text so far, and whether it was closed. */
export interface StreamedReasoningPart {
  at: number;
  text: string;
  done: boolean;
}

export type ReasoningDelta = Extract<TurnEvent, { type: "reasoning_delta" | "reasoning_summary_delta" }>;

export class ReasoningParts {
  readonly summary: StreamedReasoningPart[] = [];
  readonly content: StreamedReasoningPart[] = [];

  /**
   * Adds a delta to its part; answers the part's own index (its position: the upstream's indexes
   * are used as names, so a gap or a repeat cannot leave a hole clients would choke on — the
   * `openai` SDK refuses a part added at any index but the next) and whether it opened it.
   */
  append(event: ReasoningDelta): { kind: "summary" | "content"; index: number; opened: boolean } {
    const summary = event.type === "reasoning_summary_delta";
    const parts = summary ? this.summary : this.content;
    const at = summary ? event.summary_index : (event.content_index ?? 0);
    let index = parts.findIndex((part) => part.at === at);
    const opened = index < 0;
    if (opened) index = parts.push({ at, text: "", done: false }) - 1;
    (parts[index] as StreamedReasoningPart).text += event.delta;
    return { kind: summary ? "summary" : "content", index, opened };
  }

  /**
   * The item with the text streamed so far in place of the parts it was announced with (an
   * interrupted stream's partial item); a kind nothing was streamed of stays as it was.
   */
  fill(item: OutputItem): OutputItem {
    const filled: Record<string, unknown> = { ...item };
    if (this.summary.length > 0)
      filled.summary = this.summary.map((part) => ({ type: "summary_text", text: part.text }));
    if (this.content.length > 0)
      filled.content = this.content.map((part) => ({ type: "reasoning_text", text: part.text }));
    return filled as OutputItem;
  }
}

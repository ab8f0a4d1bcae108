/** What every wire format of the mock upstream provides. */
import type { MockPrompt, MockReply } from "../engine/providers/mock-reply.ts";

export interface WireReply {
  /** The non-streamed body. */
  json: unknown;
  /** The streamed body, one complete SSE frame per entry. */
  frames: string[];
  /** Index of the first frame that carries content (time-to-first-token applies before it). */
  contentStart: number;
}

export interface WireFormat {
  prompt(body: Record<string, unknown>): MockPrompt;
  reply(body: Record<string, unknown>, reply: MockReply, id: string): WireReply;
  /** Error body in the API's own shape. */
  error(status: number, message: string): unknown;
  /** A context-length error as the real API sends it. */
  contextError(): { status: number; body: unknown };
}

export function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

/** Text of a string or an array of `{text}` parts. */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    const value = (part as { text?: unknown }).text;
    if (typeof value === "string") text += value;
  }
  return text;
}

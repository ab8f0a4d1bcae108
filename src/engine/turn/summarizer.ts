/**
 * A summarizer backed by the gateway's own models: the conversation is rendered as text and the
 * model asked for a JSON summary. Output that is not the JSON asked for is kept as plain recent
 * context rather than lost, so a weak model still yields a usable summary.
 */
import type { SummarizeRequest, Summarizer } from "../context/compact.ts";
import type { StructuredSummary } from "../context/summary.ts";
import { contentText } from "../providers/output.ts";
import type { TurnRequest, TurnResult } from "../providers/types.ts";
import type { OnServed, ServedTarget } from "./turn-types.ts";

/** What one summarizer call sent and got back, for its usage and price. */
export interface SummarizerCall {
  result: TurnResult;
  /** The route target that served it, when the invoker said. */
  served: ServedTarget | null;
  /** The prompt text and instructions it sent (the input estimate when usage is unreported). */
  prompt: string;
  instructions: string;
}

const INSTRUCTIONS = `You compact a long conversation between a user, an assistant and its tools.
Reply with one JSON object and nothing else:
{"goal": string, "decisions": string[], "facts": string[], "open_items": string[], "recent_context": string}
Keep names, numbers, ids and file paths exactly. Fold the previous summary (if any) into the new one.`;

function render(request: SummarizeRequest): string {
  const lines: string[] = [];
  if (request.previous) lines.push(`Previous summary: ${JSON.stringify(request.previous)}`);
  for (const item of request.items) {
    const c = item.content;
    if (item.type === "message") lines.push(`${String(c.role)}: ${contentText(c.content)}`);
    else if (item.type === "function_call") lines.push(`tool call ${String(c.name)}(${String(c.arguments)})`);
    else if (item.type === "function_call_output") lines.push(`tool result: ${contentText(c.output)}`);
  }
  if (request.instructions) lines.push(`Focus: ${request.instructions}`);
  return lines.join("\n");
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

export function parseSummary(text: string): StructuredSummary {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start >= 0 && end > start) {
    try {
      const raw = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
      return {
        goal: typeof raw.goal === "string" ? raw.goal : "",
        decisions: strings(raw.decisions),
        facts: strings(raw.facts),
        openItems: strings(raw.open_items ?? raw.openItems),
        recentContext: typeof raw.recent_context === "string" ? raw.recent_context : "",
      };
    } catch {
      // not JSON after all: keep the text below
    }
  }
  return { goal: "", decisions: [], facts: [], openItems: [], recentContext: text.trim() };
}

/**
 * `complete` is the gateway's model call (routing and fallback included). `onCall` is told of
 * every call answered, so what compaction spends is accounted like a turn's own call.
 */
export function createModelSummarizer(
  complete: (request: TurnRequest, onServed?: OnServed) => Promise<TurnResult>,
  model: string,
  onCall?: (call: SummarizerCall) => void,
): Summarizer {
  return async (request) => {
    const prompt = render(request);
    let served: ServedTarget | null = null;
    const result = await complete(
      {
        model,
        instructions: INSTRUCTIONS,
        input: [{ type: "message", role: "user", content: [{ type: "input_text", text: prompt }] }],
        max_output_tokens: request.maxOutputTokens,
      },
      (target) => {
        served = target;
      },
    );
    onCall?.({ result, served, prompt, instructions: INSTRUCTIONS });
    const text = result.output
      .filter((o) => o.type === "message")
      .map((o) => contentText((o as { content?: unknown }).content))
      .join("");
    return parseSummary(text);
  };
}

/**
 * The deterministic "model" behind the built-in `mock` provider and the mock upstream server.
 * Same input, same answer: it echoes a short summary of the last user message, calls a function
 * tool when the user writes `call <tool>` (optionally followed by a JSON object of arguments), and
 * reports a tool's output back after a function-call round trip. Offline, no randomness.
 */
import { createHash } from "node:crypto";

export interface MockPrompt {
  /** Text of the last user message ("" when none). */
  lastUserText: string;
  /** Set when the conversation ends with a function call output. */
  toolOutput?: { name: string | undefined; output: string };
  tools: ReadonlyArray<{ name: string; parameters?: Record<string, unknown> | undefined }>;
  /** Characters of the whole prompt, for the usage estimate. */
  promptChars: number;
  maxOutputTokens?: number | undefined;
  /** `none` forbids calling a tool. */
  toolChoice?: "auto" | "none" | "required" | undefined;
}

export type MockReply =
  | { kind: "text"; chunks: string[]; truncated: boolean; inputTokens: number; outputTokens: number }
  | {
      kind: "call";
      callId: string;
      name: string;
      arguments: string;
      inputTokens: number;
      outputTokens: number;
    };

const SUMMARY_WORDS = 12;

/** Computes the reply. Tokens are estimated as one per word of output and chars/4 of input. */
export function mockReply(prompt: MockPrompt): MockReply {
  const inputTokens = Math.max(1, Math.ceil(prompt.promptChars / 4));
  if (!prompt.toolOutput && prompt.toolChoice !== "none") {
    const call = requestedCall(prompt);
    if (call) {
      const callId = `call_${createHash("sha256").update(prompt.lastUserText).digest("hex").slice(0, 24)}`;
      return {
        kind: "call",
        callId,
        ...call,
        inputTokens,
        outputTokens: Math.max(1, Math.ceil(call.arguments.length / 4)),
      };
    }
  }
  const text = prompt.toolOutput
    ? `The tool ${prompt.toolOutput.name ?? "call"} returned: ${clip(prompt.toolOutput.output, 200)}`
    : prompt.lastUserText.trim() === ""
      ? "Hello from the Holdfast mock model."
      : `You said: "${summarize(prompt.lastUserText)}" (${countWords(prompt.lastUserText)} words).`;
  let chunks: string[] = text.match(/\S+\s*/g) ?? [text];
  let truncated = false;
  if (prompt.maxOutputTokens !== undefined && chunks.length > prompt.maxOutputTokens) {
    chunks = chunks.slice(0, Math.max(0, prompt.maxOutputTokens));
    truncated = true;
  }
  return { kind: "text", chunks, truncated, inputTokens, outputTokens: chunks.length };
}

function requestedCall(prompt: MockPrompt): { name: string; arguments: string } | undefined {
  const match = /\bcall\s+([A-Za-z0-9_.-]+)/i.exec(prompt.lastUserText);
  const tool = match
    ? prompt.tools.find((candidate) => candidate.name === match[1])
    : prompt.toolChoice === "required"
      ? prompt.tools[0]
      : undefined;
  if (!tool) return undefined;
  const rest = match ? prompt.lastUserText.slice(match.index + match[0].length) : "";
  const brace = rest.indexOf("{");
  if (brace !== -1) {
    const candidate = rest.slice(brace, rest.lastIndexOf("}") + 1);
    try {
      const parsed: unknown = JSON.parse(candidate);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        return { name: tool.name, arguments: JSON.stringify(parsed) };
      }
    } catch {
      // Not JSON: fall back to arguments derived from the schema.
    }
  }
  return { name: tool.name, arguments: JSON.stringify(argumentsFromSchema(tool.parameters)) };
}

/** Fills every declared property with a plausible value of its type. */
function argumentsFromSchema(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const properties = (schema?.properties ?? {}) as Record<string, { type?: unknown; enum?: unknown }>;
  const args: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) {
    if (Array.isArray(property.enum) && property.enum.length > 0) args[key] = property.enum[0];
    else if (property.type === "number" || property.type === "integer") args[key] = 1;
    else if (property.type === "boolean") args[key] = true;
    else if (property.type === "array") args[key] = [];
    else if (property.type === "object") args[key] = {};
    else args[key] = "mock";
  }
  return args;
}

function summarize(text: string): string {
  const words = text.trim().split(/\s+/);
  const head = words.slice(0, SUMMARY_WORDS).join(" ").replaceAll('"', "'");
  return words.length > SUMMARY_WORDS ? `${head}…` : head;
}

function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

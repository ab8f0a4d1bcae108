/**
 * Responses items ↔ Anthropic Messages. System/developer messages and `instructions` go to the
 * top-level `system`; function calls become `tool_use` blocks of the assistant, outputs become
 * `tool_result` blocks of the user; consecutive same-role turns are merged because Anthropic
 * requires strict user/assistant alternation starting with a user turn.
 */
import { newItemId } from "../../store/ids.ts";
import { type AnthropicBlock, toolResultContent, userBlocks } from "./anthropic-content.ts";
import { buildResult, closingEvents, contentText, OutputBuilder, statusFromFinish } from "./output.ts";
import {
  type FinishReason,
  isFunctionCallItem,
  isFunctionCallOutputItem,
  isMessageItem,
  type OutputItem,
  type TurnEvent,
  type TurnRequest,
  type TurnResult,
  type Usage,
} from "./types.ts";
import { requestIndex } from "./unsendable.ts";

export type { AnthropicBlock } from "./anthropic-content.ts";

export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}

/** Anthropic requires `max_tokens`; this is used when the request sets neither it nor `output_limit`. */
export const DEFAULT_MAX_TOKENS = 4096;
/** Anthropic rejects a conversation that starts with the assistant; this user turn is put first. */
export const CONTINUATION_TEXT = "(continuing the conversation)";

export function toAnthropicBody(request: TurnRequest, stream: boolean): Record<string, unknown> {
  const { system, messages } = toAnthropicMessages(request);
  const body: Record<string, unknown> = {
    model: request.model,
    // Without a client limit an OpenAI model may answer up to its own limit: so may Claude.
    max_tokens: request.max_output_tokens ?? request.output_limit ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system) body.system = system;
  if (request.tools && request.tools.length > 0) {
    // With `none` the tools are still sent: Anthropic refuses a history holding tool_use /
    // tool_result blocks when the request defines no tools; `{type:"none"}` forbids calling them.
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      input_schema: tool.parameters ?? { type: "object", properties: {} },
    }));
    const choice = request.tool_choice;
    const disableParallel = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
    if (choice === "none") body.tool_choice = { type: "none" };
    else if (choice === "required") body.tool_choice = { type: "any", ...disableParallel };
    else if (typeof choice === "object")
      body.tool_choice = { type: "tool", name: choice.name, ...disableParallel };
    else if (request.parallel_tool_calls === false) body.tool_choice = { type: "auto", ...disableParallel };
  }
  // OpenAI's range is 0-2, Anthropic's 0-1: clamped, not scaled, so the common values (0-1) mean
  // the same on both APIs and a route falling back between them samples alike (docs/providers.md).
  if (request.temperature !== undefined) body.temperature = Math.min(1, request.temperature);
  // Claude 4.5 models and later refuse `temperature` with `top_p` (400), and Anthropic advises
  // setting only one: with both, temperature is kept.
  else if (request.top_p !== undefined) body.top_p = request.top_p;
  // `safety_identifier` is what `user` became in OpenAI's APIs; Anthropic has one user id for both.
  const userId = request.sampling?.safety_identifier ?? request.user;
  if (userId !== undefined) body.metadata = { user_id: userId };
  if (request.sampling?.stop !== undefined) body.stop_sequences = request.sampling.stop;
  // No Messages equivalent, left out: `text` (structured outputs, verbosity), `reasoning`, and of
  // `sampling` seed, penalties, logit_bias, prompt_cache_key, include and service_tier (Anthropic's
  // tiers, auto / standard_only, are not OpenAI's).
  if (stream) body.stream = true;
  return body;
}

export function toAnthropicMessages(request: TurnRequest): { system: string; messages: AnthropicMessage[] } {
  const system: string[] = request.instructions ? [request.instructions] : [];
  const messages: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage["role"], block: AnthropicBlock): void => {
    if (block.type === "text" && block.text === "") return; // empty text blocks are rejected
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(block);
    else messages.push({ role, content: [block] });
  };
  for (const [index, item] of request.input.entries()) {
    // Where the client sent it, for refusals; null in history, whose unsendable parts become notes.
    const origin = requestIndex(request, index);
    const param = (field: string): string | null => (origin === null ? null : `input[${origin}].${field}`);
    if (isMessageItem(item)) {
      if (item.role === "system" || item.role === "developer") {
        const text = contentText(item.content);
        if (text) system.push(text);
      } else if (item.role === "user") {
        for (const block of userBlocks(item.content, param("content"))) push("user", block);
      } else {
        push("assistant", { type: "text", text: contentText(item.content) });
      }
    } else if (isFunctionCallItem(item)) {
      push("assistant", {
        type: "tool_use",
        id: item.call_id,
        name: item.name,
        input: parseArguments(item.arguments),
      });
    } else if (isFunctionCallOutputItem(item)) {
      push("user", {
        type: "tool_result",
        tool_use_id: item.call_id,
        content: toolResultContent(item.output, param("output")),
      });
    }
  }
  for (const message of messages) {
    // Anthropic wants tool results before any other block of a user turn.
    if (message.role === "user" && message.content.length > 1) {
      message.content.sort((a, b) => Number(b.type === "tool_result") - Number(a.type === "tool_result"));
    }
  }
  if (messages[0]?.role === "assistant")
    messages.unshift({ role: "user", content: [{ type: "text", text: CONTINUATION_TEXT }] });
  return { system: system.join("\n\n"), messages };
}

function parseArguments(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" ? value : { value };
  } catch {
    // Anthropic needs an object; keep the model's malformed text visible instead of dropping it.
    return text.trim() === "" ? {} : { _raw: text };
  }
}

/** The split of `cache_creation_input_tokens` by cache lifetime (each part priced differently). */
interface AnthropicCacheCreation {
  ephemeral_5m_input_tokens?: number | null;
  ephemeral_1h_input_tokens?: number | null;
}

interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: AnthropicCacheCreation | null;
}

const USAGE_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
] as const;

const CACHE_CREATION_FIELDS = ["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"] as const;

/**
 * Folds a stream event's usage into the counts so far. Each field is cumulative and may be
 * missing or null (`message_delta` often has only `output_tokens`; proxies send the input
 * fields as null): such a field keeps its count from `message_start`. The `cache_creation`
 * split folds the same way, field by field.
 */
export function mergeAnthropicUsage(
  counts: AnthropicUsage,
  usage: AnthropicUsage | undefined,
): AnthropicUsage {
  const merged = { ...counts };
  for (const field of USAGE_FIELDS) {
    const value = usage?.[field];
    if (typeof value === "number") merged[field] = value;
  }
  const split = usage?.cache_creation;
  if (split && typeof split === "object") {
    const creation = { ...counts.cache_creation };
    for (const field of CACHE_CREATION_FIELDS) {
      const value = split[field];
      if (typeof value === "number") creation[field] = value;
    }
    merged.cache_creation = creation;
  }
  return merged;
}

/** Anthropic counts cached input separately; OpenAI semantics include it in `input_tokens`. */
export function usageFromAnthropic(usage: AnthropicUsage | undefined): Usage {
  const cached = usage?.cache_read_input_tokens ?? 0;
  const split = usage?.cache_creation;
  const hour = count(split?.ephemeral_1h_input_tokens);
  // The total is the reported one; without it, the split's parts add up to it.
  const written = usage?.cache_creation_input_tokens ?? count(split?.ephemeral_5m_input_tokens) + hour;
  // 1-hour writes cost more than 5-minute ones (2x input against 1.25x): the ledger prices them apart.
  const writtenHour = Math.min(hour, written);
  return {
    input_tokens: (usage?.input_tokens ?? 0) + cached + written,
    output_tokens: usage?.output_tokens ?? 0,
    cached_tokens: cached,
    // Kept for the cost ledger: a cache write is priced above plain input.
    ...(written > 0 ? { cache_write_tokens: written } : {}),
    ...(writtenHour > 0 ? { cache_write_1h_tokens: writtenHour } : {}),
  };
}

function count(value: number | null | undefined): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

export function finishFromAnthropic(reason: unknown): FinishReason {
  if (reason === "max_tokens" || reason === "model_context_window_exceeded") return "length";
  if (reason === "tool_use") return "tool_calls";
  if (reason === "refusal") return "content_filter";
  // A long turn paused (server tools, long thinking): the content so far is kept, and the turn is
  // incomplete so the client knows to ask for the rest, not completed as if the answer were whole.
  if (reason === "pause_turn") return "paused";
  return "stop";
}

interface AnthropicResponse {
  id?: string;
  model?: string;
  content?: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/** Translates a non-streamed Messages answer: one output item per text or tool_use block. */
export function fromAnthropicMessage(body: unknown, requestedModel: string): TurnResult {
  const message = body as AnthropicResponse;
  const finish = finishFromAnthropic(message.stop_reason);
  const status = statusFromFinish(finish);
  const output: OutputItem[] = [];
  for (const block of message.content ?? []) {
    if (block.type === "text" && block.text) {
      output.push({
        type: "message",
        id: newItemId("message"),
        role: "assistant",
        status,
        content: [{ type: "output_text", text: block.text, annotations: [] }],
      });
    } else if (block.type === "tool_use") {
      output.push({
        type: "function_call",
        id: newItemId("function_call"),
        call_id: block.id ?? "",
        name: block.name ?? "",
        arguments: JSON.stringify(block.input ?? {}),
        status,
      });
    }
  }
  return buildResult(
    message.id ?? "",
    message.model ?? requestedModel,
    output,
    usageFromAnthropic(message.usage),
    finish,
  );
}

interface AnthropicStreamEvent {
  type?: string;
  index?: number;
  message?: AnthropicResponse;
  content_block?: { type?: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/** Folds Anthropic stream events into neutral events. */
export class AnthropicStreamTranslator {
  #builder = new OutputBuilder();
  /** Anthropic block index → output index (thinking blocks have none). */
  #blocks = new Map<number, number>();
  /** Output indexes of the tool_use blocks that have not streamed any input JSON yet. */
  #emptyCalls = new Set<number>();
  /** Anthropic's usage counts so far (message_start, then message_delta). */
  #usage: AnthropicUsage = {};
  #finish: FinishReason = "stop";
  #id = "";
  #model: string;
  #stopped = false;
  /** Whether the input counts of `message_start` went out as a `usage` event. */
  #inputReported = false;

  constructor(model: string) {
    this.#model = model;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  push(event: AnthropicStreamEvent): TurnEvent[] {
    const events = this.#translate(event);
    // `message_start` carries the exact input counts (cache reads and writes included): pass them
    // on with the first output event, so a stream cut before `message_delta` keeps them (and the
    // cache-write price) instead of an estimate. Not before it: a stream that produced no output
    // event can still fall back to another target (router.ts).
    if (this.#inputReported || events.length === 0 || this.#stopped) return events;
    this.#inputReported = true;
    // Output 0: `message_start`'s output count (1) is no count of what a cut stream produced, and
    // an unreported output is estimated from the partial output instead (usage-estimate.ts).
    const usage = { ...usageFromAnthropic(this.#usage), output_tokens: 0 };
    return usage.input_tokens > 0 ? [{ type: "usage", usage }, ...events] : events;
  }

  #translate(event: AnthropicStreamEvent): TurnEvent[] {
    switch (event.type) {
      case "message_start":
        this.#id = event.message?.id ?? "";
        this.#model = event.message?.model ?? this.#model;
        this.#usage = mergeAnthropicUsage(this.#usage, event.message?.usage);
        return [];
      case "content_block_start": {
        const block = event.content_block;
        if (block?.type === "text") {
          const [index, added] = this.#builder.addMessage();
          this.#blocks.set(event.index ?? 0, index);
          return block.text ? [added, this.#builder.appendText(index, block.text)] : [added];
        }
        if (block?.type === "tool_use") {
          const [index, added] = this.#builder.addCall(block.id ?? "", block.name ?? "");
          this.#blocks.set(event.index ?? 0, index);
          this.#emptyCalls.add(index);
          return [added];
        }
        return [];
      }
      case "content_block_delta": {
        const index = this.#blocks.get(event.index ?? 0);
        if (index === undefined) return [];
        if (event.delta?.type === "text_delta")
          return [this.#builder.appendText(index, event.delta.text ?? "")];
        if (event.delta?.type === "input_json_delta") {
          const json = event.delta.partial_json ?? "";
          if (json !== "") this.#emptyCalls.delete(index);
          return [this.#builder.appendArgs(index, json)];
        }
        return [];
      }
      case "content_block_stop": {
        // A block's `item_done` waits for the stop reason (message_delta): `max_tokens` or
        // `pause_turn` make the turn and all its items `incomplete`, and an item announced done as
        // `completed` would contradict the final response. `closingEvents` finishes them all.
        // A tool without parameters streams no input JSON (or one empty `partial_json`): its
        // arguments are `{}`, as the non-streamed answer's `input` says, not "" (which is not JSON
        // and which clients fail to parse). Sent as a delta, so clients adding deltas up get it too.
        const index = this.#blocks.get(event.index ?? 0);
        if (index === undefined || !this.#emptyCalls.delete(index)) return [];
        return [this.#builder.appendArgs(index, "{}")];
      }
      case "message_delta":
        if (event.delta?.stop_reason) this.#finish = finishFromAnthropic(event.delta.stop_reason);
        this.#usage = mergeAnthropicUsage(this.#usage, event.usage);
        return [];
      case "message_stop":
        this.#stopped = true;
        return this.#end();
      default:
        return [];
    }
  }

  #end(): TurnEvent[] {
    return closingEvents(this.#builder, this.#id, this.#model, usageFromAnthropic(this.#usage), this.#finish);
  }
}

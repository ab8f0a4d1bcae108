/**
 * The provider-neutral turn contract. Input and output use OpenAI Responses item shapes (the
 * canonical transcript format of Holdfast); every adapter translates to and from its wire format.
 * The gateway turns these into Responses SSE events or Chat Completions chunks.
 */
import type { HoldfastError } from "../../store/errors.ts";

export const PROVIDER_TYPES = ["openai-chat", "openai-responses", "anthropic", "mock"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** A text part of a message. `input_text` for user/system/developer, `output_text` for assistant. */
export interface TextPart {
  type: "input_text" | "output_text";
  text: string;
  annotations?: unknown[];
}
/** An image part (user messages). Adapters that cannot carry it refuse it or leave a note (unsendable.ts). */
export interface ImagePart {
  type: "input_image";
  image_url?: string;
  detail?: string;
}
export interface RefusalPart {
  type: "refusal";
  refusal: string;
}
export type ContentPart = TextPart | ImagePart | RefusalPart;

export const MESSAGE_ROLES = ["user", "assistant", "system", "developer"] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export interface MessageItem {
  type: "message";
  id?: string;
  role: MessageRole;
  /** A bare string is accepted on input; outputs always carry parts. */
  content: string | ContentPart[];
  status?: "in_progress" | "completed" | "incomplete";
  /**
   * The participant's name (Chat Completions' `messages[i].name`), restored from the Holdfast
   * marker for the provider call; only the Chat Completions adapter sends it.
   */
  name?: string;
}

export interface FunctionCallItem {
  type: "function_call";
  id?: string;
  call_id: string;
  name: string;
  /** JSON text, exactly as the model produced it. */
  arguments: string;
  status?: "in_progress" | "completed" | "incomplete";
}

export interface FunctionCallOutputItem {
  type: "function_call_output";
  id?: string;
  call_id: string;
  output: string | ContentPart[];
}

/**
 * Any other Responses item (reasoning, summaries…). The Responses adapter passes them through;
 * the Chat Completions and Anthropic adapters drop them.
 */
export interface OtherItem {
  type: string;
  id?: string;
  [key: string]: unknown;
}

export type InputItem = MessageItem | FunctionCallItem | FunctionCallOutputItem | OtherItem;
export type OutputItem = MessageItem | FunctionCallItem | OtherItem;

/** A function tool in Responses shape (flat, not nested under `function`). */
export interface FunctionTool {
  type: "function";
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters?: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice = "auto" | "none" | "required" | { type: "function"; name: string };

/** The output format (Responses `text.format`): plain text, any JSON object, or JSON matching a schema. */
export type TextFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      name: string;
      /** The JSON Schema the output must match. */
      schema: Record<string, unknown>;
      strict?: boolean;
      description?: string;
    };

export const VERBOSITIES = ["low", "medium", "high"] as const;

/** Responses `text`: the output format and verbosity. */
export interface TextConfig {
  format?: TextFormat;
  verbosity?: (typeof VERBOSITIES)[number];
}

export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
export const REASONING_SUMMARIES = ["auto", "concise", "detailed"] as const;

/** Responses `reasoning`: how hard a reasoning model thinks, and the summary of it it returns. */
export interface ReasoningConfig {
  effort?: (typeof REASONING_EFFORTS)[number];
  summary?: (typeof REASONING_SUMMARIES)[number];
}

export const SERVICE_TIERS = ["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] as const;
/** The `include` values an upstream can produce for Holdfast (the Responses adapter sends them). */
export const CARRIED_INCLUDES = ["reasoning.encrypted_content"] as const;

/**
 * Generation options beyond the common ones, each sent only to the upstream APIs that take it
 * (see each adapter): Chat Completions' sampling fields, OpenAI's routing and caching hints, and
 * the Responses `include` values an upstream produces. Checked by type and range before a turn.
 */
export interface SamplingExtras {
  /** Up to 4 non-empty sequences (Chat `stop`, Anthropic `stop_sequences`; Responses has none). */
  stop?: string[];
  /** Chat only. */
  seed?: number;
  /** -2..2, Chat only. */
  presence_penalty?: number;
  /** -2..2, Chat only. */
  frequency_penalty?: number;
  /** Token id → -100..100, Chat only. */
  logit_bias?: Record<string, number>;
  /** OpenAI APIs (Chat and Responses); Anthropic's tiers mean something else. */
  service_tier?: (typeof SERVICE_TIERS)[number];
  /** OpenAI APIs. */
  prompt_cache_key?: string;
  /** OpenAI APIs; Anthropic `metadata.user_id` (in place of `user`). */
  safety_identifier?: string;
  /** Responses only. */
  include?: (typeof CARRIED_INCLUDES)[number][];
}

/** Copies the `keys` of `sampling` that are set onto an upstream body, under the same names. */
export function copySampling(
  body: Record<string, unknown>,
  sampling: SamplingExtras | undefined,
  keys: readonly (keyof SamplingExtras)[],
): void {
  if (sampling === undefined) return;
  for (const key of keys) if (sampling[key] !== undefined) body[key] = sampling[key];
}

/** One model call, provider-neutral. Field names follow the Responses API. */
export interface TurnRequest {
  /** The upstream model name (after routing). */
  model: string;
  input: readonly InputItem[];
  /**
   * For each item of `input`, its index in the client's request `input`, or null for history
   * (items earlier turns stored, a summary, a placeholder). Set by the turn engine, kept by the
   * router through a fallback's re-fitting. Adapters refuse a part their API cannot take only in
   * the request's own items, with a `param` pointing into the client's request; in history they
   * replace it with a note (unsendable.ts). Absent: every item is the caller's own, at its index.
   */
  input_origin?: readonly (number | null)[];
  instructions?: string;
  tools?: readonly FunctionTool[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  max_output_tokens?: number;
  /**
   * The model's output token limit (configuration, then catalog), set by the gateway per target:
   * what an API that requires a maximum (Anthropic's `max_tokens`) is sent when
   * `max_output_tokens` is unset, so the answer may be as long as the window reserved for it.
   */
  output_limit?: number;
  temperature?: number;
  top_p?: number;
  /** Forwarded to upstreams that understand it (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
  /** Structured outputs and verbosity: OpenAI adapters only (Chat: `response_format`, `verbosity`). */
  text?: TextConfig;
  /** OpenAI adapters only (Chat: `reasoning_effort`; the summary has no Chat field). */
  reasoning?: ReasoningConfig;
  /** Options only some upstream APIs take; each adapter sends what its API has. */
  sampling?: SamplingExtras;
  /** Cancels the upstream request at once. */
  signal?: AbortSignal;
}

export interface Usage {
  /** All input tokens, cached ones included (OpenAI semantics). */
  input_tokens: number;
  output_tokens: number;
  /** Input tokens served from the provider's prompt cache. */
  cached_tokens: number;
  /** Output tokens the model spent reasoning (included in `output_tokens`), when the upstream reports them. */
  reasoning_tokens?: number;
  /**
   * Input tokens written to the provider's prompt cache (Anthropic's `cache_creation_input_tokens`),
   * included in `input_tokens`; absent when none. Priced apart: a write costs more than plain input.
   */
  cache_write_tokens?: number;
  /**
   * The part of `cache_write_tokens` written to a 1-hour cache (Anthropic's
   * `cache_creation.ephemeral_1h_input_tokens`); absent when none. The rest are 5-minute writes.
   */
  cache_write_1h_tokens?: number;
}

export const FINISH_REASONS = [
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  /** The upstream paused a long turn and expects to be asked to continue (Anthropic `pause_turn`). */
  "paused",
  "cancelled",
  "error",
] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export interface TurnResult {
  /** The upstream's response id (or a generated one). */
  id: string;
  /** The model that actually answered, as the upstream reports it. */
  model: string;
  output: OutputItem[];
  usage: Usage;
  status: "completed" | "incomplete";
  finish_reason: FinishReason;
  /** Set when `status` is `incomplete`. */
  incomplete_reason?: "max_output_tokens" | "content_filter" | "paused" | "interrupted";
  /**
   * The service tier the upstream reports having served the turn on (OpenAI APIs), which may
   * differ from the one asked for; absent when it reports none.
   */
  service_tier?: string;
}

/**
 * Neutral streaming events. Per output item: `item_added` (empty text/arguments), deltas,
 * `item_done` (complete item). Then `usage` (when known) and exactly one terminal `done` or
 * `error`. `output_index` is the item's position in the final `output`.
 */
export type TurnEvent =
  | { type: "item_added"; output_index: number; item: OutputItem }
  | { type: "text_delta"; output_index: number; item_id: string; delta: string }
  /** A piece of a message's `refusal` part (the model declined; Responses `response.refusal.delta`). */
  | { type: "refusal_delta"; output_index: number; item_id: string; delta: string }
  /**
   * A piece of a reasoning item's readable reasoning, its `reasoning_text` part `content_index`
   * (0 when absent) (Responses `response.reasoning_text.delta`, Chat `reasoning_content`).
   */
  | { type: "reasoning_delta"; output_index: number; item_id: string; delta: string; content_index?: number }
  /**
   * A piece of a reasoning item's summary, its `summary_text` part `summary_index` (Responses
   * `response.reasoning_summary_text.delta`; only a Responses upstream makes summaries).
   */
  | {
      type: "reasoning_summary_delta";
      output_index: number;
      item_id: string;
      summary_index: number;
      delta: string;
    }
  | {
      type: "function_call_arguments_delta";
      output_index: number;
      item_id: string;
      call_id: string;
      delta: string;
    }
  | { type: "item_done"; output_index: number; item: OutputItem }
  | { type: "usage"; usage: Usage }
  | { type: "done"; result: TurnResult }
  /** Terminal failure after events were delivered; `partial` holds what was produced so far. */
  | { type: "error"; error: HoldfastError; partial: TurnResult };

/**
 * An upstream adapter. `complete` resolves with the whole result; `stream` yields events and
 * throws a typed error (never yields `error` itself — the router decides between falling back
 * and a terminal `error` event). Both honour `request.signal`.
 */
export interface Provider {
  readonly name: string;
  readonly type: ProviderType;
  complete(request: TurnRequest): Promise<TurnResult>;
  stream(request: TurnRequest): AsyncIterable<TurnEvent>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

/** Type guards: `OtherItem` keeps the union open, so `item.type === "…"` alone does not narrow. */
export function isMessageItem(item: InputItem | OutputItem): item is MessageItem {
  return item.type === "message";
}
export function isFunctionCallItem(item: InputItem | OutputItem): item is FunctionCallItem {
  return item.type === "function_call";
}
export function isFunctionCallOutputItem(item: InputItem): item is FunctionCallOutputItem {
  return item.type === "function_call_output";
}

/**
 * A turn's response record: stored in the conversation as one item (id = response id, zero
 * tokens, never sent to a model) committed atomically with the turn's output items. Everything
 * `GET /v1/responses/{id}` returns is rebuilt from it and the items it names.
 */
import type { Item, JsonObject } from "../../store/types.ts";
import { withoutUpstreamId } from "../context/items.ts";
import type { CompactionRecord } from "./compaction-spend.ts";

export const RECORD_TYPE = "response_record";

/** Item types kept in the transcript that are never sent to a model (bookkeeping). */
export const NOT_SENT_ITEM_TYPES: ReadonlySet<string> = new Set([RECORD_TYPE]);

/**
 * Item types left out of OpenAI-shaped item lists: response records, and compaction summaries
 * (clients such as the Agents SDK send listed items back as input, and summaries are not input).
 */
export const HIDDEN_ITEM_TYPES: ReadonlySet<string> = new Set([RECORD_TYPE, "summary"]);

export interface UsageRecord {
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  /** Output tokens spent reasoning, as the upstream reported them; absent when it reported none. */
  reasoning_tokens?: number;
  /** Holdfast extension: the upstream reported no usage and Holdfast estimated it. */
  estimated?: true;
}

export interface ResponseRecord {
  type: typeof RECORD_TYPE;
  status: "in_progress" | "completed" | "incomplete" | "failed";
  model: string;
  served_by: { provider: string; model: string } | null;
  created_at: number;
  conversation_id: string | null;
  previous_response_id: string | null;
  instructions: string | null;
  input_item_ids: string[];
  output_item_ids: string[];
  usage: UsageRecord;
  cost_usd: number | null;
  /**
   * Holdfast extension: what the compaction this turn triggered spent on summarizer calls, apart
   * from `usage` and `cost_usd` (the turn's own call, which the Responses `usage` shows). Absent
   * when the turn made no summarizer call.
   */
  compaction?: CompactionRecord;
  metadata: Record<string, string>;
  request: {
    tools: JsonObject[];
    tool_choice: string | JsonObject;
    parallel_tool_calls: boolean;
    max_output_tokens: number | null;
    temperature: number | null;
    top_p: number | null;
    truncation: "auto" | "disabled";
    /** `text` and `reasoning` as requested; absent on records written before they were kept. */
    text?: JsonObject | null;
    reasoning?: JsonObject | null;
    /**
     * Echoed as OpenAI echoes them; absent on records written before they were kept (the
     * Response object then shows OpenAI's defaults).
     */
    store?: boolean;
    user?: string | null;
    max_tool_calls?: number | null;
    service_tier?: string | null;
    prompt_cache_key?: string | null;
    safety_identifier?: string | null;
  };
  incomplete_reason: string | null;
  error: { code: string; message: string } | null;
  /**
   * The service tier the upstream reported having served the turn on; absent when it reported
   * none (and on records written before it was kept): the Response then shows the one asked for.
   */
  service_tier?: string;
}

/** Output/input items on the wire: the stored body with its id first (and no upstream id: `withoutUpstreamId`). */
export function wireItem(item: Pick<Item, "id" | "content">): JsonObject {
  return { id: item.id, ...withoutUpstreamId(item.content) };
}

/**
 * The tier the upstream reported, per Response object built here. The Response always shows a
 * tier (the one asked for when the upstream said none), so its JSON cannot tell a reported tier
 * from an echo; a chat completion, which carried no `service_tier` before the upstream's was kept,
 * shows one only when reported (`reportedServiceTier`).
 */
const reportedTiers = new WeakMap<JsonObject, string>();

/** The tier the upstream reported for a Response object `toResponseObject` built, if it did. */
export function reportedServiceTier(response: JsonObject): string | undefined {
  return reportedTiers.get(response);
}

/** The Responses API object for a record and its output items. */
export function toResponseObject(id: string, record: ResponseRecord, output: JsonObject[]): JsonObject {
  const response = responseObject(id, record, output);
  if (record.service_tier !== undefined) reportedTiers.set(response, record.service_tier);
  return response;
}

/**
 * The Response as a stream announces it (`response.created`, `response.in_progress`), fresh or
 * replayed by `Idempotency-Key`: the fields of the request only. In progress, no output, no
 * `error` or `incomplete_details`, the tier asked for (the upstream's comes with the closing
 * event), and `usage: null` as OpenAI's, which counts nothing until the response is done. A
 * replay announced from its stored response would show how the turn ended before it "began".
 */
export function announcedResponse(id: string, record: ResponseRecord): JsonObject {
  const { service_tier: _served, ...asked } = record;
  const pending: ResponseRecord = { ...asked, status: "in_progress", incomplete_reason: null, error: null };
  return { ...responseObject(id, pending, []), usage: null };
}

function responseObject(id: string, record: ResponseRecord, output: JsonObject[]): JsonObject {
  const usage = record.usage;
  const request = record.request;
  return {
    id,
    object: "response",
    created_at: record.created_at,
    status: record.status,
    background: false,
    error: record.error,
    incomplete_details: record.incomplete_reason ? { reason: record.incomplete_reason } : null,
    instructions: record.instructions,
    max_output_tokens: request.max_output_tokens,
    max_tool_calls: request.max_tool_calls ?? null,
    model: record.model,
    output,
    parallel_tool_calls: record.request.parallel_tool_calls,
    previous_response_id: record.previous_response_id,
    prompt_cache_key: request.prompt_cache_key ?? null,
    safety_identifier: request.safety_identifier ?? null,
    // As OpenAI's: the tier the upstream served it on, when it said; else the one asked for
    // ("auto", OpenAI's default, when none was).
    service_tier: record.service_tier ?? request.service_tier ?? "auto",
    conversation: record.conversation_id ? { id: record.conversation_id } : null,
    reasoning: {
      effort: record.request.reasoning?.effort ?? null,
      summary: record.request.reasoning?.summary ?? null,
    },
    store: request.store ?? true,
    temperature: record.request.temperature,
    text: { format: { type: "text" }, ...record.request.text },
    tool_choice: record.request.tool_choice,
    tools: record.request.tools,
    // Only 0 is accepted (request-fields.ts): the output carries no log probabilities.
    top_logprobs: 0,
    top_p: record.request.top_p,
    truncation: record.request.truncation,
    usage: {
      input_tokens: usage.input_tokens,
      input_tokens_details: { cached_tokens: usage.cached_tokens },
      output_tokens: usage.output_tokens,
      output_tokens_details: { reasoning_tokens: usage.reasoning_tokens ?? 0 },
      total_tokens: usage.input_tokens + usage.output_tokens,
      ...(usage.estimated ? { estimated: true } : {}),
    },
    metadata: record.metadata,
    user: request.user ?? null,
  };
}

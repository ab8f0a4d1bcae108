/**
 * Adapter for the OpenAI Responses API: `POST {baseUrl}/responses`, nearly a pass-through. Holdfast
 * owns the transcript, so requests go out with `store: false` and without item ids (ids of items
 * the upstream never stored would be rejected as unknown references). For the same reason output
 * items get Holdfast's own ids: some upstreams reuse theirs across responses (a clash in the
 * conversation) or leave them out. One upstream id does go back: a reasoning item's, kept in the
 * item's `holdfast` marker (`upstream_id`), because OpenAI binds `encrypted_content` to it; the
 * context engine's `toModelInput` restores it as the id of an item with encrypted content. A
 * reasoning item without both is left out of the request (`isReplayable`).
 */
import { newBoundItemId, newItemId, newUnboundItemId } from "../../store/ids.ts";
import { ContextLengthExceededError, clipMessage, isContextLengthMessage, ProviderError } from "./errors.ts";
import type { HttpClient } from "./http.ts";
import { reportedTier, ZERO_USAGE } from "./output.ts";
import {
  copySampling,
  type FinishReason,
  type InputItem,
  type OutputItem,
  type Provider,
  type TurnEvent,
  type TurnRequest,
  type TurnResult,
  type Usage,
} from "./types.ts";

export interface OpenAIResponsesProviderOptions {
  name: string;
  http: HttpClient;
}

/** Creates a Responses API adapter over a pooled HTTP client. */
export function createOpenAIResponsesProvider(options: OpenAIResponsesProviderOptions): Provider {
  const { name, http } = options;
  return {
    name,
    type: "openai-responses",
    async complete(request) {
      const body = await http.postJson("/responses", toResponsesBody(request, false), request.signal);
      return fromResponse(name, body, request.model, http.redact, new OwnIds());
    },
    stream(request) {
      return streamResponses(name, http, request);
    },
    close() {
      return http.close();
    },
  };
}

/**
 * What the Responses API takes of `SamplingExtras`; it has no `stop`, `seed`, penalties or
 * `logit_bias`, so those (Chat Completions options) are left out.
 */
const RESPONSES_SAMPLING = ["service_tier", "prompt_cache_key", "safety_identifier", "include"] as const;

const ID_STRIPPED = new Set(["message", "function_call", "function_call_output"]);

export function toResponsesBody(request: TurnRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    input: request.input.filter(isReplayable).map(stripId),
    store: false,
  };
  if (request.instructions) body.instructions = request.instructions;
  if (request.tools && request.tools.length > 0) body.tools = request.tools;
  if (request.tool_choice !== undefined) body.tool_choice = request.tool_choice;
  if (request.parallel_tool_calls !== undefined) body.parallel_tool_calls = request.parallel_tool_calls;
  if (request.max_output_tokens !== undefined) body.max_output_tokens = request.max_output_tokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.user !== undefined) body.user = request.user;
  if (request.text !== undefined) body.text = request.text;
  if (request.reasoning !== undefined) body.reasoning = request.reasoning;
  copySampling(body, request.sampling, RESPONSES_SAMPLING);
  if (stream) body.stream = true;
  return body;
}

/**
 * Whether an item can go back to a Responses upstream. A reasoning item can only with its
 * `encrypted_content` and the id it was issued under (OpenAI binds the two). Without encrypted
 * content, an id would name an item the upstream never stored (`store: false`: "Item with id
 * 'rs_…' not found"), and no id makes an invalid item (the id is required); encrypted content
 * without its id cannot be verified. Any of these fails the turn — and every later turn of the
 * conversation, which holds the item — so such an item is left out, as the Chat Completions and
 * Anthropic adapters leave out every reasoning item.
 */
function isReplayable(item: InputItem): boolean {
  if (item.type !== "reasoning") return true;
  const { id, encrypted_content: encrypted } = item as InputItem & { encrypted_content?: unknown };
  return typeof encrypted === "string" && encrypted !== "" && typeof id === "string" && id !== "";
}

function stripId(item: InputItem): InputItem {
  if (!ID_STRIPPED.has(item.type)) return item;
  // A message's participant name (Chat's `messages[i].name`) has no Responses field: OpenAI
  // refuses unknown ones. A function call's `name` is its function's, and stays.
  const named = item.type === "message" && "name" in item;
  if (item.id === undefined && !("status" in item) && !named) return item;
  const { id: _id, status: _status, ...rest } = item as InputItem & { status?: unknown };
  if (named) delete (rest as { name?: string }).name;
  return rest as InputItem;
}

interface ResponsesBody {
  id?: string;
  model?: string;
  status?: string;
  output?: OutputItem[];
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    input_tokens_details?: { cached_tokens?: number } | null;
    output_tokens_details?: { reasoning_tokens?: number } | null;
  };
  incomplete_details?: { reason?: string } | null;
  error?: { code?: string; message?: string } | null;
  service_tier?: unknown;
}

function usageOf(usage: ResponsesBody["usage"]): Usage {
  if (!usage) return { ...ZERO_USAGE };
  const reasoning = usage.output_tokens_details?.reasoning_tokens;
  return {
    input_tokens: usage.input_tokens ?? 0,
    output_tokens: usage.output_tokens ?? 0,
    cached_tokens: usage.input_tokens_details?.cached_tokens ?? 0,
    ...(typeof reasoning === "number" && reasoning > 0 ? { reasoning_tokens: reasoning } : {}),
  };
}

/**
 * Holdfast's id for each output index, minted when the item first shows up (`item_added`, or the
 * final output of a non-streamed response), so the stream and the result name an item alike.
 */
class OwnIds {
  readonly #ids = new Map<number, string>();

  of(index: number, type: string, upstreamId?: string): string {
    let id = this.#ids.get(index);
    if (id === undefined) {
      // A reasoning id that cannot carry the upstream's says so, so that a client sending the item
      // back does not have it taken for the upstream's id (`keepUpstreamId`).
      id =
        (upstreamId === undefined ? null : newBoundItemId(upstreamId)) ??
        (type === "reasoning" ? newUnboundItemId(type) : newItemId(type));
      this.#ids.set(index, id);
    }
    return id;
  }

  /**
   * The item with its upstream id (if any) replaced by Holdfast's. A reasoning item's upstream id
   * is kept in its marker, and its Holdfast id carries it too (`newBoundItemId`): clients never
   * see the marker, and a client sending the item back (`input: [...output, …]`) gives the id it
   * was shown, from which `keepUpstreamId` recovers the one the upstream bound the item to.
   */
  apply(index: number, item: OutputItem): OutputItem {
    if (item.type !== "reasoning" || typeof item.id !== "string" || item.id === "")
      return { ...item, id: this.of(index, String(item.type)) };
    const id = this.of(index, "reasoning", item.id);
    return { ...item, id, holdfast: { upstream_id: item.id } };
  }
}

/** Translates a Responses object (`response.completed` payload or non-streamed body). */
function fromResponse(
  provider: string,
  raw: unknown,
  requestedModel: string,
  redact: (text: string) => string,
  ids: OwnIds,
): TurnResult {
  const body = raw as ResponsesBody;
  if (body.status === "failed" || body.error) throw failure(provider, body.error, redact);
  const output = (body.output ?? []).map((item, index) => ids.apply(index, item));
  const reason = body.incomplete_details?.reason;
  const finish: FinishReason =
    body.status === "incomplete"
      ? reason === "content_filter"
        ? "content_filter"
        : "length"
      : output.some((item) => item.type === "function_call")
        ? "tool_calls"
        : "stop";
  const result: TurnResult = {
    id: body.id ?? "",
    model: body.model ?? requestedModel,
    output,
    usage: usageOf(body.usage),
    status: body.status === "incomplete" ? "incomplete" : "completed",
    finish_reason: finish,
  };
  if (result.status === "incomplete") {
    result.incomplete_reason = reason === "content_filter" ? "content_filter" : "max_output_tokens";
  }
  const tier = reportedTier(body.service_tier);
  if (tier !== undefined) result.service_tier = tier;
  return result;
}

function failure(
  provider: string,
  error: { code?: string; message?: string } | null | undefined,
  redact: (text: string) => string,
): ProviderError {
  const text = clipMessage(redact(error?.message ?? "unknown error"));
  const message = `${provider} failed the response${error?.code ? ` (${error.code})` : ""}: ${text}`;
  if (isContextLengthMessage(error?.code, error?.message ?? ""))
    return new ContextLengthExceededError(message, { provider });
  return new ProviderError(message, { provider });
}

interface StreamPayload {
  type?: string;
  output_index?: number;
  item_id?: string;
  item?: OutputItem;
  delta?: string;
  summary_index?: number;
  content_index?: number;
  response?: ResponsesBody;
  code?: string;
  message?: string;
}

async function* streamResponses(
  name: string,
  http: HttpClient,
  request: TurnRequest,
): AsyncGenerator<TurnEvent> {
  const events = await http.postStream("/responses", toResponsesBody(request, true), request.signal);
  const callIds = new Map<number, string>();
  const ids = new OwnIds();
  for await (const event of events) {
    if (event.data === "[DONE]") break;
    let payload: StreamPayload;
    try {
      payload = JSON.parse(event.data) as StreamPayload;
    } catch {
      throw new ProviderError(`${name} sent a stream event that is not JSON: ${event.data.slice(0, 200)}`, {
        provider: name,
      });
    }
    const type = payload.type ?? event.event;
    const index = payload.output_index ?? 0;
    switch (type) {
      case "response.output_item.added":
        if (payload.item) {
          if (payload.item.type === "function_call") callIds.set(index, String(payload.item.call_id ?? ""));
          yield { type: "item_added", output_index: index, item: ids.apply(index, payload.item) };
        }
        break;
      case "response.output_text.delta":
        yield {
          type: "text_delta",
          output_index: index,
          item_id: ids.of(index, "message"),
          delta: payload.delta ?? "",
        };
        break;
      case "response.refusal.delta":
        yield {
          type: "refusal_delta",
          output_index: index,
          item_id: ids.of(index, "message"),
          delta: payload.delta ?? "",
        };
        break;
      // Reasoning streams under Holdfast's id for the item (the bound one), part by part; the
      // gateway derives the parts' `.added` / `.done` events, as it does a message's.
      case "response.reasoning_summary_text.delta":
        yield {
          type: "reasoning_summary_delta",
          output_index: index,
          item_id: ids.of(index, "reasoning"),
          summary_index: partIndex(payload.summary_index),
          delta: payload.delta ?? "",
        };
        break;
      case "response.reasoning_text.delta":
        yield {
          type: "reasoning_delta",
          output_index: index,
          item_id: ids.of(index, "reasoning"),
          content_index: partIndex(payload.content_index),
          delta: payload.delta ?? "",
        };
        break;
      case "response.function_call_arguments.delta":
        yield {
          type: "function_call_arguments_delta",
          output_index: index,
          item_id: ids.of(index, "function_call"),
          call_id: callIds.get(index) ?? "",
          delta: payload.delta ?? "",
        };
        break;
      case "response.output_item.done":
        if (payload.item)
          yield { type: "item_done", output_index: index, item: ids.apply(index, payload.item) };
        break;
      case "response.completed":
      case "response.incomplete": {
        const result = fromResponse(name, payload.response, request.model, http.redact, ids);
        events.complete();
        yield { type: "usage", usage: result.usage };
        yield { type: "done", result };
        return;
      }
      case "response.failed":
        throw failure(name, payload.response?.error, http.redact);
      case "error":
        throw failure(
          name,
          { ...(payload.code ? { code: payload.code } : {}), message: payload.message ?? "" },
          http.redact,
        );
      default:
        break;
    }
  }
  throw new ProviderError(`${name} closed the stream before response.completed.`, { provider: name });
}

/** A part index from the wire: a non-negative integer, else 0 (a server that numbers none has one part). */
function partIndex(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}

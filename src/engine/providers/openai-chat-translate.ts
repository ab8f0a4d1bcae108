/**
 * Responses items ↔ Chat Completions messages. Consecutive function calls become one assistant
 * message with `tool_calls`; outputs become `tool` messages; developer messages become `system`
 * (most OpenAI-compatible servers do not know the developer role); unknown items are dropped.
 */
import { chatToolContent, chatUserContent } from "./openai-chat-content.ts";
import {
  buildResult,
  contentText,
  OutputBuilder,
  reportedTier,
  statusFromFinish,
  ZERO_USAGE,
} from "./output.ts";
import {
  copySampling,
  type FinishReason,
  type InputItem,
  isFunctionCallItem,
  isFunctionCallOutputItem,
  isMessageItem,
  type TextFormat,
  type TurnRequest,
  type TurnResult,
  type Usage,
} from "./types.ts";
import { requestIndex } from "./unsendable.ts";

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}
export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string | null | Array<Record<string, unknown>>;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  /** The participant's name, as the client gave it (`messages[i].name`, kept with the item). */
  name?: string;
}

/** What Chat Completions takes of `SamplingExtras` (all but Responses' `include`), under the same names. */
const CHAT_SAMPLING = [
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "service_tier",
  "prompt_cache_key",
  "safety_identifier",
] as const;

/** Builds the Chat Completions request body. */
export function toChatBody(request: TurnRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, messages: toChatMessages(request) };
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.parameters ?? { type: "object", properties: {} },
        ...(tool.strict === undefined ? {} : { strict: tool.strict }),
      },
    }));
    if (request.parallel_tool_calls !== undefined) body.parallel_tool_calls = request.parallel_tool_calls;
  }
  if (request.tool_choice !== undefined) {
    body.tool_choice =
      typeof request.tool_choice === "string"
        ? request.tool_choice
        : { type: "function", function: { name: request.tool_choice.name } };
  }
  if (request.max_output_tokens !== undefined) body.max_tokens = request.max_output_tokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.user !== undefined) body.user = request.user;
  const format = request.text?.format;
  if (format !== undefined) body.response_format = toResponseFormat(format);
  if (request.text?.verbosity !== undefined) body.verbosity = request.text.verbosity;
  if (request.reasoning?.effort !== undefined) body.reasoning_effort = request.reasoning.effort;
  copySampling(body, request.sampling, CHAT_SAMPLING);
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** Responses `text.format` → Chat `response_format` (a schema nests under `json_schema` there). */
function toResponseFormat(format: TextFormat): Record<string, unknown> {
  if (format.type !== "json_schema") return { type: format.type };
  const { type, ...jsonSchema } = format;
  return { type, json_schema: jsonSchema };
}

export function toChatMessages(request: TurnRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (request.instructions) messages.push({ role: "system", content: request.instructions });
  for (const [index, item] of request.input.entries()) {
    // Where the client sent it, for refusals; null in history, whose unsendable parts become notes.
    const origin = requestIndex(request, index);
    appendItem(messages, item, (field) => (origin === null ? null : `input[${origin}].${field}`));
  }
  return messages;
}

function appendItem(messages: ChatMessage[], item: InputItem, param: (field: string) => string | null): void {
  if (isMessageItem(item)) {
    const name = typeof item.name === "string" && item.name !== "" ? { name: item.name } : {};
    if (item.role === "user")
      messages.push({ role: "user", content: chatUserContent(item.content, param("content")), ...name });
    // A refusal part goes as content text, not as the assistant `refusal` field: OpenAI-compatible
    // servers that validate strictly refuse message fields they do not know, which would fail
    // every later turn of a conversation that once held a refusal.
    else if (item.role === "assistant")
      messages.push({ role: "assistant", content: contentText(item.content), ...name });
    else messages.push({ role: "system", content: contentText(item.content), ...name });
    return;
  }
  if (isFunctionCallItem(item)) {
    const call: ChatToolCall = {
      id: item.call_id,
      type: "function",
      function: { name: item.name, arguments: item.arguments },
    };
    const last = messages.at(-1);
    // Calls that follow an assistant message (or other calls) belong to that same assistant turn.
    if (last?.role === "assistant") {
      last.tool_calls ??= [];
      last.tool_calls.push(call);
    } else messages.push({ role: "assistant", content: null, tool_calls: [call] });
    return;
  }
  if (isFunctionCallOutputItem(item)) {
    messages.push({
      role: "tool",
      tool_call_id: item.call_id,
      content: chatToolContent(item.output, param("output")),
    });
  }
}

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export function usageFromChat(usage: ChatUsage | null | undefined): Usage {
  if (!usage) return { ...ZERO_USAGE };
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  return {
    input_tokens: usage.prompt_tokens ?? 0,
    output_tokens: usage.completion_tokens ?? 0,
    cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    ...(typeof reasoning === "number" && reasoning > 0 ? { reasoning_tokens: reasoning } : {}),
  };
}

/**
 * The reasoning text of a message or delta. OpenAI-compatible servers that show a model's
 * reasoning (vLLM, DeepSeek, SGLang, Ollama, OpenRouter, Groq, LM Studio) put it beside
 * `content`, as `reasoning_content` or `reasoning`; one server sends one of them, and a server
 * sending both means the same text, so `reasoning` counts only without `reasoning_content`.
 */
export function reasoningOf(message: ChatReasoning | null | undefined): string {
  const text = message?.reasoning_content;
  if (typeof text === "string" && text !== "") return text;
  return typeof message?.reasoning === "string" ? message.reasoning : "";
}

export interface ChatReasoning {
  reasoning_content?: unknown;
  reasoning?: unknown;
}

export function finishFromChat(reason: unknown): FinishReason {
  if (reason === "length") return "length";
  if (reason === "tool_calls" || reason === "function_call") return "tool_calls";
  if (reason === "content_filter") return "content_filter";
  return "stop";
}

interface ChatCompletion {
  id?: string;
  model?: string;
  service_tier?: unknown;
  choices?: Array<{
    message?: ChatReasoning & {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: ChatToolCall[];
    };
    finish_reason?: string | null;
  }>;
  usage?: ChatUsage | null;
}

/** Translates a non-streamed Chat Completions answer. */
export function fromChatCompletion(body: unknown, requestedModel: string): TurnResult {
  const completion = body as ChatCompletion;
  const choice = completion.choices?.[0];
  const builder = new OutputBuilder();
  // The reasoning comes first, as the Responses API puts its reasoning item before the answer.
  const reasoning = reasoningOf(choice?.message);
  if (reasoning !== "") builder.appendReasoning(builder.addReasoning()[0], reasoning);
  const text = choice?.message?.content ?? "";
  const refusal = choice?.message?.refusal ?? "";
  if (text !== "" || refusal !== "") {
    const [index] = builder.addMessage();
    if (text !== "") builder.appendText(index, text);
    // OpenAI's refusal (`content` null): a `refusal` part, as the Responses API gives it.
    if (refusal !== "") builder.appendRefusal(index, refusal);
  }
  for (const call of choice?.message?.tool_calls ?? []) {
    const [index] = builder.addCall(call.id, call.function.name);
    builder.appendArgs(index, call.function.arguments ?? "");
  }
  const finish = finishFromChat(choice?.finish_reason);
  const status = statusFromFinish(finish);
  const result = buildResult(
    completion.id ?? "",
    completion.model ?? requestedModel,
    builder.output(status),
    usageFromChat(completion.usage),
    finish,
  );
  const tier = reportedTier(completion.service_tier);
  if (tier !== undefined) result.service_tier = tier;
  return result;
}

/**
 * Chat Completions on top of the turn engine: a chat request becomes a Responses-style turn
 * (messages → items, system messages → instructions), and the Response object becomes a
 * `chat.completion` (or `chat.completion.chunk`s when streaming). One turn path serves both
 * APIs, so a conversation can be continued from either.
 */
import type { JsonObject } from "../../store/types.ts";
import { isPlainObject, LIMITS } from "../../store/validate.ts";
import { withParticipantName } from "../context/items.ts";
import { REASONING_EFFORTS, type TextFormat, VERBOSITIES } from "../providers/types.ts";
import { chatAssistantParts, chatText, chatUserParts } from "./chat-content.ts";
import type { ChatSource } from "./chat-params.ts";
import { checkParticipantName } from "./input.ts";
import { reportedServiceTier } from "./record.ts";
import { checkMaxOutputTokens, FROM_CHAT, parseTextFormat } from "./request.ts";
import { bad, carriedFields, checkFields, optionalEnum } from "./request-fields.ts";

/** The translated input items, and where each came from (for errors named in the chat request). */
export interface ChatInput {
  instructions: string | null;
  input: JsonObject[];
  /** `sources[i]` is where `input[i]` came from. */
  sources: ChatSource[];
}

const MESSAGE_FIELDS = { content: "content", role: "role" } as const;
const CALL_FIELDS = { call_id: "id", name: "function.name", arguments: "function.arguments" } as const;
const TOOL_FIELDS = { call_id: "tool_call_id", output: "content" } as const;

/** Converts chat `messages` into Responses input items and instructions. */
export function chatMessagesToInput(messages: unknown): ChatInput {
  if (!Array.isArray(messages) || messages.length === 0)
    bad("messages must be a non-empty array.", "messages");
  const instructions: string[] = [];
  const input: JsonObject[] = [];
  const sources: ChatSource[] = [];
  const push = (item: JsonObject, source: ChatSource): void => {
    input.push(item);
    sources.push(source);
  };
  messages.forEach((raw, i) => {
    const param = `messages[${i}]`;
    if (!isPlainObject(raw)) bad(`${param} must be an object.`, param);
    const role = raw.role;
    const partsKept = Array.isArray(raw.content) && raw.content.length > 0;
    const source = { path: param, fields: MESSAGE_FIELDS, partsKept };
    // OpenAI's participant name, on system, developer, user and assistant messages. Kept with a
    // user or assistant message's item; system and developer messages become the instructions,
    // which carry none. (A tool message's `name`, which some clients send, is not OpenAI's: ignored.)
    const name =
      raw.name === undefined || role === "tool" ? null : checkParticipantName(raw.name, `${param}.name`);
    const named = (message: JsonObject): JsonObject =>
      name === null ? message : withParticipantName(message, name);
    if (role === "system" || role === "developer") {
      instructions.push(chatText(raw.content, `${param}.content`, role));
    } else if (role === "user") {
      push(
        named({ type: "message", role: "user", content: chatUserParts(raw.content, `${param}.content`) }),
        source,
      );
    } else if (role === "assistant") {
      const content = chatAssistantParts(raw, param);
      if (content.some((p) => p.text !== "" || p.type === "refusal"))
        push(named({ type: "message", role: "assistant", content }), source);
      const calls = raw.tool_calls ?? [];
      if (!Array.isArray(calls)) bad(`${param}.tool_calls must be an array.`, `${param}.tool_calls`);
      calls.forEach((call, k) => {
        const fn = isPlainObject(call) && isPlainObject(call.function) ? call.function : null;
        if (!fn || typeof call.id !== "string" || typeof fn.name !== "string") {
          bad(
            `${param}.tool_calls[${k}] must be { id, type: "function", function: { name, arguments } }.`,
            `${param}.tool_calls[${k}]`,
          );
        }
        const item: JsonObject = {
          type: "function_call",
          call_id: call.id as string,
          name: fn.name as string,
          arguments: typeof fn.arguments === "string" ? fn.arguments : "{}",
        };
        push(item, { path: `${param}.tool_calls[${k}]`, fields: CALL_FIELDS, partsKept: false });
      });
    } else if (role === "tool") {
      if (typeof raw.tool_call_id !== "string")
        bad(`${param}.tool_call_id is required for tool messages.`, `${param}.tool_call_id`);
      const item: JsonObject = {
        type: "function_call_output",
        call_id: raw.tool_call_id,
        output: chatText(raw.content, `${param}.content`, "tool"),
      };
      push(item, { path: param, fields: TOOL_FIELDS, partsKept: false });
    } else {
      bad(`${param}.role must be system, developer, user, assistant or tool.`, `${param}.role`);
    }
  });
  checkItemCount(input.length);
  return { instructions: instructions.length > 0 ? instructions.join("\n\n") : null, input, sources };
}

/**
 * The turn takes 1 to LIMITS.itemsPerAppend input items; refused here in the chat request's terms,
 * since messages and items do not count alike (the turn would say `input must hold…`, a field the
 * client never sent): system and developer messages make none, a tool call one of its own.
 */
function checkItemCount(items: number): void {
  if (items === 0) {
    bad(
      "messages must hold a user, assistant or tool message: system and developer messages become the instructions, and an assistant message without content, refusal or tool calls carries nothing. Add a user message.",
      "messages",
    );
  }
  if (items > LIMITS.itemsPerAppend) {
    bad(
      `messages come to ${items} items, and a request takes at most ${LIMITS.itemsPerAppend} (one per user, assistant or tool message, and one per tool call; system and developer messages none). Send fewer: continue a long conversation with the Holdfast-Conversation header, which sends only the new messages.`,
      "messages",
    );
  }
}

/** Chat tools (`{type:"function", function:{name, parameters}}`) → Responses function tools. */
export function chatToolsToResponses(tools: unknown): JsonObject[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) bad("tools must be an array.", "tools");
  return tools.map((tool, i) => {
    if (!isPlainObject(tool) || tool.type !== "function" || !isPlainObject(tool.function)) {
      bad(`tools[${i}] must be { type: "function", function: { name, parameters } }.`, `tools[${i}]`);
    }
    // The kind is the tool's `type`: a `type` inside `function` (not a field of it) does not change it.
    return { ...(tool.function as JsonObject), type: "function" };
  });
}

/**
 * Chat `response_format` → Responses `text.format`: the same formats, with a schema's fields
 * nested under `json_schema` in Chat and flat in Responses. Errors name the Chat fields.
 */
function chatResponseFormat(raw: unknown): TextFormat {
  if (isPlainObject(raw) && raw.type === "json_schema") {
    for (const key of Object.keys(raw)) {
      if (key !== "type" && key !== "json_schema") {
        bad(
          `response_format.${key.slice(0, 64)} is not supported; use response_format.json_schema.`,
          `response_format.${key}`,
        );
      }
    }
    if (!isPlainObject(raw.json_schema)) {
      bad("response_format.json_schema must be { name, schema, strict }.", "response_format.json_schema");
    }
    return parseTextFormat({ ...raw.json_schema, type: "json_schema" }, "response_format.json_schema");
  }
  return parseTextFormat(raw, "response_format");
}

/**
 * Chat `n`: one choice only. A conversation can take only one reply, and a stateless turn
 * returns the one the engine produced; more would be silently dropped, so they are refused.
 */
function checkChoices(raw: unknown, conversationId: string | null): void {
  if (raw === undefined || raw === null || raw === 1) return;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 1 || raw > 128) {
    bad("n must be an integer from 1 to 128.", "n");
  }
  bad(
    conversationId
      ? "n must be 1 on a conversation: only one choice can be appended to it."
      : "n must be 1: this gateway returns one choice per request; send several requests for more.",
    "n",
  );
}

/**
 * `max_completion_tokens`, or its deprecated name `max_tokens`; both are checked, and both with
 * different values are refused rather than one of them dropped. Named as the client sent them.
 */
function chatMaxTokens(body: Record<string, unknown>): number | null {
  const max = checkMaxOutputTokens(body.max_completion_tokens, "max_completion_tokens", "chat");
  const legacy = checkMaxOutputTokens(body.max_tokens, "max_tokens", "chat");
  if (max !== null && legacy !== null && max !== legacy) {
    bad(
      "max_tokens and max_completion_tokens differ; send max_completion_tokens only (max_tokens is its deprecated name).",
      "max_tokens",
    );
  }
  return max ?? legacy;
}

/**
 * Translates a chat request into the Responses shape the turn parses. Every field is in
 * request-fields.ts's chat table: refused values are refused here, carried ones keep their name.
 * `sources` says where each input item came from, to name the turn's errors (`toChatError`).
 */
export function chatRequestToResponses(
  body: unknown,
  conversationId: string | null,
): { body: JsonObject; sources: ChatSource[] } {
  if (!isPlainObject(body)) bad("The request body must be a JSON object.", "body");
  checkFields(body, "chat");
  const { instructions, input, sources } = chatMessagesToInput(body.messages);
  const tools = chatToolsToResponses(body.tools);
  const maxTokens = chatMaxTokens(body);
  checkChoices(body.n, conversationId);
  const format =
    body.response_format === undefined || body.response_format === null
      ? null
      : chatResponseFormat(body.response_format);
  const verbosity = optionalEnum(body.verbosity, VERBOSITIES, "verbosity");
  const effort = optionalEnum(body.reasoning_effort, REASONING_EFFORTS, "reasoning_effort");
  let toolChoice = body.tool_choice;
  if (isPlainObject(toolChoice) && isPlainObject(toolChoice.function)) {
    toolChoice = { type: "function", name: toolChoice.function.name as string };
  }
  const out: JsonObject = {
    model: body.model as string,
    input,
    store: conversationId !== null,
    truncation: "auto",
  };
  if (instructions !== null) out.instructions = instructions;
  if (conversationId) out.conversation = conversationId;
  if (tools) out.tools = tools;
  if (toolChoice !== undefined) out.tool_choice = toolChoice as JsonObject;
  if (maxTokens !== null) out.max_output_tokens = maxTokens;
  if (format !== null || verbosity !== null) {
    const text = { ...(format === null ? {} : { format }), ...(verbosity === null ? {} : { verbosity }) };
    out.text = text as JsonObject;
  }
  if (effort !== null) out.reasoning = { effort };
  for (const key of ["temperature", "top_p", "user", "parallel_tool_calls", "metadata", "stream"] as const) {
    if (body[key] !== undefined) out[key] = body[key] as JsonObject;
  }
  for (const key of carriedFields("chat")) if (body[key] !== undefined) out[key] = body[key] as JsonObject;
  // Chat's own limits (max_tokens from 1, not Responses' 16) apply when the engine parses it.
  Object.defineProperty(out, FROM_CHAT, { value: true });
  return { body: out, sources };
}

/**
 * Chat's `finish_reason` for a Response: a filtered answer is `content_filter`, any other
 * incomplete one `length` (cut: max tokens, paused, interrupted).
 */
function finishReason(response: JsonObject): string {
  const output = (response.output as JsonObject[]) ?? [];
  if (output.some((o) => o.type === "function_call")) return "tool_calls";
  if (response.status !== "incomplete") return "stop";
  const details = response.incomplete_details as JsonObject | null | undefined;
  return details?.reason === "content_filter" ? "content_filter" : "length";
}

/** The joined `text` (or, with `field` "refusal", `refusal`) of the output's message parts. */
function messageText(output: JsonObject[], field: "text" | "refusal" = "text"): string {
  return output
    .filter((o) => o.type === "message")
    .flatMap((o) => (o.content as JsonObject[]) ?? [])
    .map((p) => (typeof p[field] === "string" ? p[field] : ""))
    .join("");
}

/**
 * The readable reasoning of the output (its reasoning items' `reasoning_text` parts), for Chat
 * Completions' `reasoning_content`, the field the OpenAI-compatible servers that produce it use.
 * Summaries and encrypted reasoning (a Responses upstream's) are not the model's reasoning text.
 */
function reasoningText(output: JsonObject[]): string {
  return output
    .filter((o) => o.type === "reasoning")
    .flatMap((o) => (Array.isArray(o.content) ? (o.content as JsonObject[]) : []))
    .map((p) => (p.type === "reasoning_text" && typeof p.text === "string" ? p.text : ""))
    .join("");
}

function toolCalls(output: JsonObject[]): JsonObject[] {
  return output
    .filter((o) => o.type === "function_call")
    .map((o) => ({
      id: o.call_id as string,
      type: "function",
      function: { name: o.name as string, arguments: o.arguments as string },
    }));
}

/** The Response object as a `chat.completion`. */
export function responseToChatCompletion(response: JsonObject): JsonObject {
  const output = (response.output as JsonObject[]) ?? [];
  const usage = response.usage as JsonObject;
  const calls = toolCalls(output);
  const text = messageText(output);
  const refusal = messageText(output, "refusal");
  const reasoning = reasoningText(output);
  return {
    id: `chatcmpl-${String(response.id).slice(5)}`,
    object: "chat.completion",
    created: response.created_at as number,
    model: response.model as string,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // OpenAI's refusal leaves `content` null, as a reply of calls alone does.
          content: text.length > 0 || (calls.length === 0 && refusal.length === 0) ? text : null,
          refusal: refusal.length > 0 ? refusal : null,
          ...(reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(response),
      },
    ],
    usage: chatUsage(usage),
    ...chatServiceTier(response),
    system_fingerprint: null,
  };
}

/** `service_tier` of a chat completion: the upstream's, when it reported one (else none, as before). */
export function chatServiceTier(response: JsonObject): { service_tier?: string } {
  const tier = reportedServiceTier(response);
  return tier === undefined ? {} : { service_tier: tier };
}

/**
 * A Response object's `usage` in Chat Completions' shape, streamed or not. `estimated: true`
 * (the Holdfast extension the Response object carries) says the upstream reported none.
 */
export function chatUsage(usage: JsonObject): JsonObject {
  return {
    prompt_tokens: usage.input_tokens as number,
    completion_tokens: usage.output_tokens as number,
    total_tokens: usage.total_tokens as number,
    prompt_tokens_details: {
      cached_tokens: (usage.input_tokens_details as JsonObject)?.cached_tokens ?? 0,
    },
    completion_tokens_details: {
      reasoning_tokens: (usage.output_tokens_details as JsonObject)?.reasoning_tokens ?? 0,
    },
    ...(usage.estimated === true ? { estimated: true } : {}),
  };
}

/** One `chat.completion.chunk` with the given delta (and `service_tier`, once the upstream reported it). */
export function chatChunk(
  id: string,
  model: string,
  created: number,
  delta: JsonObject,
  finish: string | null,
  serviceTier?: string,
): JsonObject {
  return {
    id,
    object: "chat.completion.chunk",
    created,
    model,
    ...(serviceTier === undefined ? {} : { service_tier: serviceTier }),
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

export { finishReason as chatFinishReason };

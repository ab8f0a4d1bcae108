/** OpenAI Chat Completions and Responses wire formats of the mock upstream. */
import { promptOf } from "../engine/providers/mock.ts";
import type { MockPrompt } from "../engine/providers/mock-reply.ts";
import type { InputItem, TurnRequest } from "../engine/providers/types.ts";
import { sse, textOf, type WireFormat, type WireReply } from "./wire.ts";

function openaiError(status: number, message: string): unknown {
  const type = status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
  return { error: { message, type, param: null, code: status === 429 ? "rate_limit_exceeded" : null } };
}

const CONTEXT_MESSAGE =
  "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.";

export const CHAT_FORMAT: WireFormat = {
  prompt(body) {
    const messages = (Array.isArray(body.messages) ? body.messages : []) as Array<Record<string, unknown>>;
    let lastUserText = "";
    let promptChars = 0;
    for (const message of messages) {
      const text = textOf(message.content);
      promptChars += text.length;
      if (message.role === "user") lastUserText = text;
    }
    const last = messages.at(-1);
    let toolOutput: MockPrompt["toolOutput"];
    if (last?.role === "tool") {
      const calls = messages.flatMap((m) => (Array.isArray(m.tool_calls) ? m.tool_calls : [])) as Array<{
        id?: string;
        function?: { name?: string };
      }>;
      toolOutput = {
        name: calls.find((call) => call.id === last.tool_call_id)?.function?.name,
        output: textOf(last.content),
      };
    }
    const tools = (Array.isArray(body.tools) ? body.tools : []) as Array<{
      function?: { name?: string; parameters?: Record<string, unknown> };
    }>;
    const max = body.max_completion_tokens ?? body.max_tokens;
    return {
      lastUserText,
      ...(toolOutput ? { toolOutput } : {}),
      tools: tools.map((tool) => ({
        name: String(tool.function?.name ?? ""),
        parameters: tool.function?.parameters,
      })),
      promptChars,
      maxOutputTokens: typeof max === "number" ? max : undefined,
      toolChoice:
        typeof body.tool_choice === "string" ? (body.tool_choice as MockPrompt["toolChoice"]) : undefined,
    };
  },
  reply(body, reply, id) {
    const model = String(body.model ?? "mock");
    const created = 1_700_000_000;
    const usage = {
      prompt_tokens: reply.inputTokens,
      completion_tokens: reply.outputTokens,
      total_tokens: reply.inputTokens + reply.outputTokens,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    const finish = reply.kind === "call" ? "tool_calls" : reply.truncated ? "length" : "stop";
    const toolCall =
      reply.kind === "call"
        ? { id: reply.callId, type: "function", function: { name: reply.name, arguments: reply.arguments } }
        : null;
    const message =
      reply.kind === "call"
        ? { role: "assistant", content: null, tool_calls: [toolCall] }
        : { role: "assistant", content: reply.chunks.join(""), refusal: null };
    const json = {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage,
    };
    const chunk = (delta: unknown, finishReason: string | null = null): string =>
      sse({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      });
    const frames = [chunk({ role: "assistant", content: "" })];
    if (reply.kind === "call") {
      frames.push(
        chunk({
          tool_calls: [
            { index: 0, id: reply.callId, type: "function", function: { name: reply.name, arguments: "" } },
          ],
        }),
      );
      for (const piece of pieces(reply.arguments))
        frames.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
    } else {
      for (const piece of reply.chunks) frames.push(chunk({ content: piece }));
    }
    frames.push(chunk({}, finish));
    const options = body.stream_options as { include_usage?: unknown } | undefined;
    if (options?.include_usage)
      frames.push(sse({ id, object: "chat.completion.chunk", created, model, choices: [], usage }));
    frames.push("data: [DONE]\n\n");
    return { json, frames, contentStart: 1 };
  },
  error: openaiError,
  contextError: () => ({
    status: 400,
    body: {
      error: {
        message: CONTEXT_MESSAGE,
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    },
  }),
};

export const RESPONSES_FORMAT: WireFormat = {
  prompt(body) {
    const input: InputItem[] =
      typeof body.input === "string"
        ? [{ type: "message", role: "user", content: body.input }]
        : ((body.input ?? []) as InputItem[]);
    return promptOf({ ...(body as unknown as TurnRequest), input });
  },
  reply(body, reply, id): WireReply {
    const model = String(body.model ?? "mock");
    const incomplete = reply.kind === "text" && reply.truncated;
    const itemId = `${reply.kind === "call" ? "fc" : "msg"}_${id.slice(5)}`;
    const usage = {
      input_tokens: reply.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: reply.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: reply.inputTokens + reply.outputTokens,
    };
    const text = reply.kind === "text" ? reply.chunks.join("") : "";
    const done =
      reply.kind === "call"
        ? {
            type: "function_call",
            id: itemId,
            call_id: reply.callId,
            name: reply.name,
            arguments: reply.arguments,
            status: "completed",
          }
        : {
            type: "message",
            id: itemId,
            role: "assistant",
            status: incomplete ? "incomplete" : "completed",
            content: [{ type: "output_text", text, annotations: [] }],
          };
    const base = {
      id,
      object: "response",
      created_at: 1_700_000_000,
      model,
      error: null,
      instructions: body.instructions ?? null,
      tools: body.tools ?? [],
    };
    const json = {
      ...base,
      status: incomplete ? "incomplete" : "completed",
      incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
      output: [done],
      usage,
    };
    let seq = 0;
    const event = (type: string, data: Record<string, unknown>): string =>
      sse({ type, sequence_number: seq++, ...data }, type);
    const pending = { ...base, status: "in_progress", incomplete_details: null, output: [], usage: null };
    const frames = [
      event("response.created", { response: pending }),
      event("response.in_progress", { response: pending }),
    ];
    if (reply.kind === "call") {
      frames.push(
        event("response.output_item.added", {
          output_index: 0,
          item: { ...done, arguments: "", status: "in_progress" },
        }),
      );
      for (const piece of pieces(reply.arguments)) {
        frames.push(
          event("response.function_call_arguments.delta", { item_id: itemId, output_index: 0, delta: piece }),
        );
      }
      frames.push(
        event("response.function_call_arguments.done", {
          item_id: itemId,
          output_index: 0,
          arguments: reply.arguments,
        }),
      );
    } else {
      frames.push(
        event("response.output_item.added", {
          output_index: 0,
          item: { ...done, status: "in_progress", content: [] },
        }),
      );
      const part = { type: "output_text", text: "", annotations: [] };
      frames.push(
        event("response.content_part.added", { item_id: itemId, output_index: 0, content_index: 0, part }),
      );
      for (const piece of reply.chunks) {
        frames.push(
          event("response.output_text.delta", {
            item_id: itemId,
            output_index: 0,
            content_index: 0,
            delta: piece,
          }),
        );
      }
      frames.push(
        event("response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text }),
      );
      frames.push(
        event("response.content_part.done", {
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          part: { ...part, text },
        }),
      );
    }
    frames.push(event("response.output_item.done", { output_index: 0, item: done }));
    frames.push(event(incomplete ? "response.incomplete" : "response.completed", { response: json }));
    return { json, frames, contentStart: 2 };
  },
  error: openaiError,
  contextError: () => ({
    status: 400,
    body: {
      error: {
        message: "Your input exceeds the context window of this model.",
        type: "invalid_request_error",
        param: "input",
        code: "context_length_exceeded",
      },
    },
  }),
};

/** Splits a string in a few pieces, to exercise delta reassembly. */
export function pieces(text: string, size = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

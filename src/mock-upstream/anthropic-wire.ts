/** Anthropic Messages wire format of the mock upstream. */
import type { MockPrompt } from "../engine/providers/mock-reply.ts";
import { pieces } from "./openai-wire.ts";
import { sse, textOf, type WireFormat } from "./wire.ts";

interface Block {
  type?: string;
  text?: string;
  id?: string;
  name?: string;
  tool_use_id?: string;
  content?: unknown;
}

export const ANTHROPIC_FORMAT: WireFormat = {
  prompt(body) {
    const messages = (Array.isArray(body.messages) ? body.messages : []) as Array<{
      role?: string;
      content?: unknown;
    }>;
    const blocks = (content: unknown): Block[] =>
      typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : [];
    let lastUserText = "";
    let promptChars = textOf(typeof body.system === "string" ? body.system : (body.system ?? "")).length;
    for (const message of messages) {
      const text = textOf(blocks(message.content).filter((block) => block.type === "text"));
      promptChars += text.length;
      if (message.role === "user" && text !== "") lastUserText = text;
    }
    let toolOutput: MockPrompt["toolOutput"];
    const last = messages.at(-1);
    const result =
      last?.role === "user" ? blocks(last.content).find((block) => block.type === "tool_result") : undefined;
    if (result) {
      const uses = messages.flatMap((m) => blocks(m.content)).filter((block) => block.type === "tool_use");
      toolOutput = {
        name: uses.find((use) => use.id === result.tool_use_id)?.name,
        output: textOf(result.content),
      };
    }
    const tools = (Array.isArray(body.tools) ? body.tools : []) as Array<{
      name?: string;
      input_schema?: Record<string, unknown>;
    }>;
    const choice = (body.tool_choice as { type?: string } | undefined)?.type;
    return {
      lastUserText,
      ...(toolOutput ? { toolOutput } : {}),
      tools: tools.map((tool) => ({ name: String(tool.name ?? ""), parameters: tool.input_schema })),
      promptChars,
      maxOutputTokens: typeof body.max_tokens === "number" ? body.max_tokens : undefined,
      toolChoice: choice === "any" || choice === "tool" ? "required" : choice === "none" ? "none" : undefined,
    };
  },
  reply(body, reply, id) {
    const model = String(body.model ?? "mock");
    const stop = reply.kind === "call" ? "tool_use" : reply.truncated ? "max_tokens" : "end_turn";
    const usage = {
      input_tokens: reply.inputTokens,
      output_tokens: reply.outputTokens,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    };
    const content =
      reply.kind === "call"
        ? [
            {
              type: "tool_use",
              id: reply.callId,
              name: reply.name,
              input: JSON.parse(reply.arguments) as unknown,
            },
          ]
        : [{ type: "text", text: reply.chunks.join("") }];
    const json = {
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage,
    };
    const frames = [
      sse(
        {
          type: "message_start",
          message: { ...json, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
        },
        "message_start",
      ),
    ];
    if (reply.kind === "call") {
      frames.push(
        sse(
          {
            type: "content_block_start",
            index: 0,
            content_block: { type: "tool_use", id: reply.callId, name: reply.name, input: {} },
          },
          "content_block_start",
        ),
      );
      for (const piece of pieces(reply.arguments)) {
        frames.push(
          sse(
            {
              type: "content_block_delta",
              index: 0,
              delta: { type: "input_json_delta", partial_json: piece },
            },
            "content_block_delta",
          ),
        );
      }
    } else {
      frames.push(
        sse(
          { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
          "content_block_start",
        ),
      );
      frames.push(sse({ type: "ping" }, "ping"));
      for (const piece of reply.chunks) {
        frames.push(
          sse(
            { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } },
            "content_block_delta",
          ),
        );
      }
    }
    frames.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
    frames.push(
      sse(
        {
          type: "message_delta",
          delta: { stop_reason: stop, stop_sequence: null },
          usage: { output_tokens: reply.outputTokens },
        },
        "message_delta",
      ),
    );
    frames.push(sse({ type: "message_stop" }, "message_stop"));
    return { json, frames, contentStart: 1 };
  },
  error(status, message) {
    const type =
      status === 429
        ? "rate_limit_error"
        : status === 529 || status === 503
          ? "overloaded_error"
          : status >= 500
            ? "api_error"
            : "invalid_request_error";
    return { type: "error", error: { type, message } };
  },
  contextError: () => ({
    status: 400,
    body: {
      type: "error",
      error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" },
    },
  }),
};

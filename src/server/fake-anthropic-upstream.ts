/**
 * An Anthropic Messages upstream for tests whose answer a test chooses per request (the shipped
 * mock upstream answers with one text or one tool_use block). It speaks the wire as Anthropic
 * does: a `message`, or the named stream events (`message_start`, `ping`, per block
 * `content_block_start` / deltas / `content_block_stop`, `message_delta`, `message_stop`), an
 * `error` event mid-stream, or an HTTP error with Anthropic's error body.
 */

import { after, before } from "node:test";
import type OpenAI from "openai";
import { createStore } from "../store/create-store.ts";
import { type FakeUpstreamServer, startFakeUpstreamServer } from "./fake-upstream-server.ts";
import { openSdkGateway, type SdkGateway } from "./sdk-test-gateway.ts";
import type { TestApp } from "./test-helpers.ts";

export type FakeAnthropicBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "thinking"; thinking: string; signature: string };

export interface FakeAnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  /** The split of `cache_creation_input_tokens` by cache lifetime. */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface FakeAnthropicAnswer {
  content?: FakeAnthropicBlock[];
  /** Default: `tool_use` when the content holds one, else `end_turn`. */
  stop_reason?: string;
  usage?: FakeAnthropicUsage;
  /** Streamed: the `message_delta` event's usage (default: `{output_tokens}` of `usage`). */
  deltaUsage?: Record<string, number | null | Record<string, number | null>>;
  /** Streamed: an `error` event (e.g. `overloaded_error`) after this many blocks, instead of the end. */
  streamError?: { type: string; message: string; afterBlocks: number };
  /** An HTTP error answer instead of a message. */
  httpError?: { status: number; type: string; message: string; headers?: Record<string, string> };
}

export type FakeAnthropicUpstream = FakeUpstreamServer;

/** Starts an upstream answering request `n` (0-based) with `answer(n, body)`. */
export async function startFakeAnthropicUpstream(
  answer: (n: number, body: Record<string, unknown>) => FakeAnthropicAnswer,
): Promise<FakeAnthropicUpstream> {
  return startFakeUpstreamServer((n, body, res) => {
    const reply = answer(n, body);
    if (reply.httpError) {
      const { status, type, message, headers } = reply.httpError;
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify({ type: "error", error: { type, message } }));
      return;
    }
    const content = reply.content ?? [];
    const stop = reply.stop_reason ?? (content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
    const usage = reply.usage ?? { input_tokens: 10, output_tokens: 5 };
    const message = {
      id: "msg_fake",
      type: "message",
      role: "assistant",
      model: String(body.model),
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage,
    };
    if (body.stream !== true) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(message));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const send = (type: string, data: Record<string, unknown>): void => {
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    };
    send("message_start", {
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    });
    send("ping", {});
    for (const [index, block] of content.entries()) {
      if (reply.streamError && index === reply.streamError.afterBlocks) break;
      streamBlock(send, block, index);
    }
    if (reply.streamError) {
      send("error", { error: { type: reply.streamError.type, message: reply.streamError.message } });
      res.end();
      return;
    }
    send("message_delta", {
      delta: { stop_reason: stop, stop_sequence: null },
      usage: reply.deltaUsage ?? { output_tokens: usage.output_tokens },
    });
    send("message_stop", {});
    res.end();
  });
}

type Send = (type: string, data: Record<string, unknown>) => void;

/** One block's events as Anthropic streams them; a tool without input sends one empty `partial_json`. */
function streamBlock(send: Send, block: FakeAnthropicBlock, index: number): void {
  const delta = (d: Record<string, unknown>) => send("content_block_delta", { index, delta: d });
  if (block.type === "text") {
    send("content_block_start", { index, content_block: { type: "text", text: "" } });
    for (const piece of [block.text.slice(0, 3), block.text.slice(3)])
      if (piece) delta({ type: "text_delta", text: piece });
  } else if (block.type === "tool_use") {
    send("content_block_start", { index, content_block: { ...block, input: {} } });
    const json = Object.keys(block.input).length === 0 ? "" : JSON.stringify(block.input);
    for (const piece of json === "" ? [""] : [json.slice(0, 5), json.slice(5)])
      delta({ type: "input_json_delta", partial_json: piece });
  } else {
    send("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } });
    delta({ type: "thinking_delta", thinking: block.thinking });
    delta({ type: "signature_delta", signature: block.signature });
  }
  send("content_block_stop", { index });
}

/**
 * The SDK over a gateway on a memory store whose one provider, `claude` (type `anthropic`), is
 * the fake `upstream` (model `claude/<name>`); `close` closes both. `providerFields` adds to the
 * provider's section (e.g. `retry`); `models` is the config's model catalog.
 */
export async function openSdkGatewayOverAnthropic(
  upstream: FakeAnthropicUpstream,
  providerFields: Record<string, unknown> = {},
  models?: Record<string, unknown>,
): Promise<SdkGateway> {
  const gateway = await openSdkGateway(await createStore("memory:"), {
    providers: [{ name: "claude", type: "anthropic", baseUrl: upstream.baseUrl, ...providerFields }],
    ...(models ? { models } : {}),
  });
  return {
    ...gateway,
    close: async () => {
      await gateway.close();
      await upstream.close();
    },
  };
}

/** The fake upstream and the gateway over it of one `describe`; readable once its `before` has run. */
export interface AnthropicSuiteGateway {
  readonly upstream: FakeAnthropicUpstream;
  readonly client: OpenAI;
  readonly t: TestApp;
}

/**
 * For the `describe` it is called in: starts a fake upstream answering with `answer` and
 * `openSdkGatewayOverAnthropic` over it in a `before` hook, closes both in an `after` hook.
 * `providerFields` and `models` are as for `openSdkGatewayOverAnthropic`.
 */
export function anthropicGatewayPerSuite(
  answer: (n: number, body: Record<string, unknown>) => FakeAnthropicAnswer,
  providerFields: Record<string, unknown> = {},
  models?: Record<string, unknown>,
): AnthropicSuiteGateway {
  let opened: (SdkGateway & { upstream: FakeAnthropicUpstream }) | undefined;
  before(async () => {
    const upstream = await startFakeAnthropicUpstream(answer);
    opened = { ...(await openSdkGatewayOverAnthropic(upstream, providerFields, models)), upstream };
  });
  after(() => opened?.close());
  const current = () => {
    if (!opened) throw new Error("the suite's gateway opens in its before hook: read it inside a test");
    return opened;
  };
  return {
    get upstream() {
      return current().upstream;
    },
    get client() {
      return current().client;
    },
    get t() {
      return current().t;
    },
  };
}

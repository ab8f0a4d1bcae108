/**
 * The built-in `mock` provider: in-process, deterministic, offline. It serves any model name, so
 * `npm start` works with nothing configured, and function-calling round trips are testable
 * (write "call <tool>" in a user message).
 */
import { randomBytes } from "node:crypto";
import { CancelledError } from "./errors.ts";
import { type MockPrompt, mockReply } from "./mock-reply.ts";
import { buildResult, contentText, OutputBuilder } from "./output.ts";
import {
  type InputItem,
  isFunctionCallItem,
  isFunctionCallOutputItem,
  type Provider,
  type TurnEvent,
  type TurnRequest,
  type TurnResult,
} from "./types.ts";

export interface MockProviderOptions {
  /** Provider name in errors and metrics. Default `mock`. */
  name?: string;
}

/** Creates the in-process mock provider. */
export function createMockProvider(options: MockProviderOptions = {}): Provider {
  const name = options.name ?? "mock";
  return {
    name,
    type: "mock",
    async complete(request) {
      let result: TurnResult | undefined;
      for await (const event of run(name, request)) if (event.type === "done") result = event.result;
      return result!;
    },
    stream(request) {
      return run(name, request);
    },
    async close() {},
  };
}

async function* run(name: string, request: TurnRequest): AsyncGenerator<TurnEvent> {
  const check = (): void => {
    if (request.signal?.aborted) throw new CancelledError(undefined, { provider: name });
  };
  check();
  const reply = mockReply(promptOf(request));
  const builder = new OutputBuilder();
  if (reply.kind === "call") {
    const [index, added] = builder.addCall(reply.callId, reply.name);
    yield added;
    check();
    yield builder.appendArgs(index, reply.arguments);
  } else {
    const [index, added] = builder.addMessage();
    yield added;
    for (const chunk of reply.chunks) {
      check();
      yield builder.appendText(index, chunk);
    }
  }
  check();
  const finish = reply.kind === "call" ? "tool_calls" : reply.truncated ? "length" : "stop";
  const status = finish === "length" ? "incomplete" : "completed";
  yield* builder.finishAll(status);
  const usage = { input_tokens: reply.inputTokens, output_tokens: reply.outputTokens, cached_tokens: 0 };
  yield { type: "usage", usage };
  const id = `resp_${randomBytes(12).toString("hex")}`;
  yield { type: "done", result: buildResult(id, request.model, builder.output(status), usage, finish) };
}

/** Reduces Responses items to what the mock model looks at. */
export function promptOf(request: TurnRequest): MockPrompt {
  const items = request.input;
  let lastUserText = "";
  let promptChars = request.instructions?.length ?? 0;
  for (const item of items) {
    promptChars += itemChars(item);
    if (item.type === "message" && item.role === "user") lastUserText = contentText(item.content);
  }
  const last = items.at(-1);
  let toolOutput: MockPrompt["toolOutput"];
  if (last && isFunctionCallOutputItem(last)) {
    const call = items.find((item) => isFunctionCallItem(item) && item.call_id === last.call_id);
    toolOutput = {
      name: call && isFunctionCallItem(call) ? call.name : undefined,
      output: typeof last.output === "string" ? last.output : contentText(last.output),
    };
  }
  return {
    lastUserText,
    ...(toolOutput ? { toolOutput } : {}),
    tools: request.tools ?? [],
    promptChars,
    maxOutputTokens: request.max_output_tokens,
    toolChoice: typeof request.tool_choice === "string" ? request.tool_choice : undefined,
  };
}

function itemChars(item: InputItem): number {
  if (item.type === "message") return contentText(item.content).length;
  if (item.type === "function_call") return String(item.arguments ?? "").length;
  if (item.type === "function_call_output") {
    return typeof item.output === "string" ? item.output.length : contentText(item.output).length;
  }
  return 0;
}

/**
 * A Chat Completions upstream for tests whose answer a test chooses per request (the shipped mock
 * upstream always answers with text or one call). It speaks the wire as OpenAI does: a
 * `chat.completion`, or chunks (each text split in two deltas) with a usage chunk and `[DONE]`.
 */
import { type FakeUpstreamServer, startFakeUpstreamServer } from "./fake-upstream-server.ts";

export interface FakeChatAnswer {
  content?: string | null;
  refusal?: string | null;
  /** The model's reasoning, under the field vLLM and DeepSeek use, or (`reasoning`) OpenRouter's. */
  reasoning_content?: string;
  reasoning?: string;
  /** Reported as `completion_tokens_details.reasoning_tokens` when given. */
  reasoning_tokens?: number;
  finish_reason?: string;
  /** Sent on the completion (every chunk when streamed), as OpenAI reports the tier it used. */
  service_tier?: string;
  /** The usage reported; default 5 prompt and 3 completion tokens. `null` reports none. */
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

export type FakeChatUpstream = FakeUpstreamServer;

/** Starts an upstream answering request `n` (0-based) with `answer(n, body)`. */
export async function startFakeChatUpstream(
  answer: (n: number, body: Record<string, unknown>) => FakeChatAnswer,
): Promise<FakeChatUpstream> {
  return startFakeUpstreamServer((n, body, res) => {
    const reply = answer(n, body);
    const head = {
      id: "chatcmpl-fake",
      created: 1_700_000_000,
      model: String(body.model),
      ...(reply.service_tier === undefined ? {} : { service_tier: reply.service_tier }),
    };
    const counts = reply.usage === undefined ? { prompt_tokens: 5, completion_tokens: 3 } : reply.usage;
    const usage = counts && {
      ...counts,
      total_tokens: counts.prompt_tokens + counts.completion_tokens,
      ...(reply.reasoning_tokens === undefined
        ? {}
        : { completion_tokens_details: { reasoning_tokens: reply.reasoning_tokens } }),
    };
    const reasoning = {
      ...(reply.reasoning_content === undefined ? {} : { reasoning_content: reply.reasoning_content }),
      ...(reply.reasoning === undefined ? {} : { reasoning: reply.reasoning }),
    };
    const finish = reply.finish_reason ?? "stop";
    if (body.stream !== true) {
      const message = {
        role: "assistant",
        content: reply.content ?? null,
        refusal: reply.refusal ?? null,
        ...reasoning,
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          ...head,
          object: "chat.completion",
          choices: [{ index: 0, message, finish_reason: finish }],
          ...(usage ? { usage } : {}),
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const send = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
      res.write(
        `data: ${JSON.stringify({ ...head, object: "chat.completion.chunk", choices, ...extra })}\n\n`,
      );
    };
    send([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
    // Reasoning streams before the answer, with `content: ""` beside it as DeepSeek sends it.
    for (const [field, text] of Object.entries(reasoning))
      for (const piece of [text.slice(0, 3), text.slice(3)])
        send([{ index: 0, delta: { content: "", [field]: piece }, finish_reason: null }]);
    for (const field of ["content", "refusal"] as const) {
      const text = reply[field];
      if (!text) continue;
      for (const piece of [text.slice(0, 3), text.slice(3)])
        send([{ index: 0, delta: { [field]: piece }, finish_reason: null }]);
    }
    send([{ index: 0, delta: {}, finish_reason: finish }]);
    if (usage) send([], { usage });
    res.end("data: [DONE]\n\n");
  });
}

/**
 * A Responses API upstream for tests whose output a test chooses per request (the shipped mock
 * upstream always mints fresh ids and answers with text or one call). It speaks the wire as
 * OpenAI does, streamed or not; items keep exactly the `id` the test gives them, or none.
 */
import { type FakeUpstreamServer, startFakeUpstreamServer } from "./fake-upstream-server.ts";

export type FakeItem = Record<string, unknown>;

export type FakeResponsesUpstream = FakeUpstreamServer;

/**
 * Starts an upstream answering request `n` (0-based) with the output items `output(n, body)`;
 * `fields(n)` adds to (or overrides) the fields of its Response object (e.g. `service_tier`).
 * A streamed answer awaits `hold(n)` after each reasoning item's deltas, before the item is done:
 * a test holds the stream there to see what has reached its client meanwhile.
 */
export async function startFakeResponsesUpstream(
  output: (n: number, body: Record<string, unknown>) => FakeItem[],
  fields: (n: number) => Record<string, unknown> = () => ({}),
  hold: (n: number) => Promise<void> = async () => {},
): Promise<FakeResponsesUpstream> {
  return startFakeUpstreamServer(async (n, body, res) => {
    const items = output(n, body);
    const extra = fields(n);
    const response = {
      id: "resp_fake",
      object: "response",
      created_at: 1_700_000_000,
      status: "completed",
      model: String(body.model),
      error: null,
      incomplete_details: null,
      output: items,
      usage: { input_tokens: 5, output_tokens: 3, input_tokens_details: { cached_tokens: 0 } },
      ...extra,
    };
    if (body.stream !== true) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(response));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    let sequence = 0;
    const send = (type: string, data: Record<string, unknown>): void => {
      res.write(
        `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`,
      );
    };
    send("response.created", { response: { ...response, status: "in_progress", output: [] } });
    for (const [index, item] of items.entries()) {
      if (item.type === "reasoning") {
        streamReasoning(send, item, index);
        await hold(n);
        send("response.output_item.done", { output_index: index, item });
      } else streamItem(send, item, index);
    }
    send("response.completed", { response });
    res.end();
  });
}

type Send = (type: string, data: Record<string, unknown>) => void;

/** One output item's events as OpenAI streams them: added, content parts and their deltas, done. */
function streamItem(send: Send, item: FakeItem, index: number): void {
  const ref = { ...(item.id === undefined ? {} : { item_id: item.id }), output_index: index };
  if (item.type === "message") {
    send("response.output_item.added", {
      output_index: index,
      item: { ...item, status: "in_progress", content: [] },
    });
    const parts = item.content as Array<{ type: string; text?: string; refusal?: string }>;
    parts.forEach((part, contentIndex) => {
      const at = { ...ref, content_index: contentIndex };
      const refusal = part.type === "refusal";
      send("response.content_part.added", {
        ...at,
        part: refusal ? { type: "refusal", refusal: "" } : { ...part, text: "" },
      });
      const text = (refusal ? part.refusal : part.text) ?? "";
      for (const piece of [text.slice(0, 3), text.slice(3)]) {
        send(refusal ? "response.refusal.delta" : "response.output_text.delta", { ...at, delta: piece });
      }
      send(refusal ? "response.refusal.done" : "response.output_text.done", {
        ...at,
        ...(refusal ? { refusal: text } : { text }),
      });
      send("response.content_part.done", { ...at, part });
    });
  } else if (item.type === "function_call") {
    send("response.output_item.added", {
      output_index: index,
      item: { ...item, arguments: "", status: "in_progress" },
    });
    send("response.function_call_arguments.delta", { ...ref, delta: item.arguments });
    send("response.function_call_arguments.done", { ...ref, arguments: item.arguments });
  } else {
    send("response.output_item.added", { output_index: index, item });
  }
  send("response.output_item.done", { output_index: index, item });
}

/**
 * A reasoning item's events as OpenAI streams them: added with no text, then each summary part
 * (`reasoning_summary_part.added`, text deltas, `.done`s) and each `reasoning_text` part
 * (`content_part.added`, `reasoning_text.delta`s, `.done`s); `output_item.done` is sent apart.
 */
function streamReasoning(send: Send, item: FakeItem, index: number): void {
  const ref = { ...(item.id === undefined ? {} : { item_id: item.id }), output_index: index };
  const summary = (item.summary ?? []) as Array<{ type: string; text: string }>;
  const content = item.content as Array<{ type: string; text: string }> | undefined;
  send("response.output_item.added", {
    output_index: index,
    item: { ...item, summary: [], ...(content === undefined ? {} : { content: [] }) },
  });
  summary.forEach((part, summaryIndex) => {
    const at = { ...ref, summary_index: summaryIndex };
    send("response.reasoning_summary_part.added", { ...at, part: { ...part, text: "" } });
    for (const piece of [part.text.slice(0, 3), part.text.slice(3)])
      send("response.reasoning_summary_text.delta", { ...at, delta: piece });
    send("response.reasoning_summary_text.done", { ...at, text: part.text });
    send("response.reasoning_summary_part.done", { ...at, part });
  });
  (content ?? []).forEach((part, contentIndex) => {
    const at = { ...ref, content_index: contentIndex };
    send("response.content_part.added", { ...at, part: { ...part, text: "" } });
    for (const piece of [part.text.slice(0, 3), part.text.slice(3)])
      send("response.reasoning_text.delta", { ...at, delta: piece });
    send("response.reasoning_text.done", { ...at, text: part.text });
    send("response.content_part.done", { ...at, part });
  });
}

/** The assistant message answering request `n`: id `msg_up<n>`, text `answer <n>`. */
export function fakeAnswerMessage(n: number): FakeItem {
  return {
    type: "message",
    id: `msg_up${n}`,
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: `answer ${n}`, annotations: [] }],
  };
}

/** The reasoning items in a request the upstream saw, as `[id, encrypted_content]` pairs. */
export function reasoningSent(body: Record<string, unknown> | undefined): [unknown, unknown][] {
  return ((body?.input ?? []) as FakeItem[])
    .filter((item) => item.type === "reasoning")
    .map((item) => [item.id, item.encrypted_content]);
}

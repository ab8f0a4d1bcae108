/**
 * Test support: seeds a store with sessions that exercise every dashboard view — messages, a
 * tool call and its output, a compaction summary, response records with usage and cost over
 * several days and models, and a fork.
 */
import type { ItemInput, JsonObject, SessionStore } from "../store/types.ts";

export interface Seeded {
  chatId: string;
  forkId: string;
  sessionIds: string[];
}

const DAY = 86_400_000;

function record(
  model: string,
  at: number,
  input: number,
  output: number,
  cost: number,
  outIds: string[],
): JsonObject {
  return {
    type: "response_record",
    status: "completed",
    model,
    served_by: { provider: "mock", model },
    created_at: Math.floor(at / 1000),
    conversation_id: null,
    previous_response_id: null,
    instructions: null,
    input_item_ids: [],
    output_item_ids: outIds,
    usage: { input_tokens: input, output_tokens: output, cached_tokens: 0 },
    cost_usd: cost,
    metadata: {},
    request: {
      tools: [],
      tool_choice: "auto",
      parallel_tool_calls: true,
      max_output_tokens: null,
      temperature: null,
      top_p: null,
      truncation: "auto",
    },
    incomplete_reason: null,
    error: null,
  };
}

function msg(role: string, text: string): ItemInput {
  const type = role === "assistant" ? "output_text" : "input_text";
  return { content: { type: "message", role, content: [{ type, text }] } };
}

/** Seeds tenant `default` (and `acme` when `tenants` includes it) with `extra` filler sessions. */
export async function seedDashboardStore(store: SessionStore, now = Date.now(), extra = 12): Promise<Seeded> {
  const chat = await store.create("default", { owner: "alice", labels: ["support", "vip"] });
  await store.append("default", chat.id, [
    msg("system", "You are the Holdfast demo assistant."),
    msg("user", "What is the weather in Lisbon?"),
  ]);
  await store.append("default", chat.id, [
    {
      id: "fc_1",
      content: {
        type: "function_call",
        name: "get_weather",
        call_id: "call_1",
        arguments: '{"city":"Lisbon"}',
      },
    },
    { content: { type: "function_call_output", call_id: "call_1", output: '{"temp_c":21,"sky":"clear"}' } },
    {
      id: "msg_a1",
      content: {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "It is 21 °C and clear in Lisbon." }],
      },
    },
    { id: "resp_1", content: record("gpt-4o-mini", now - 2 * DAY, 420, 35, 0.0012, ["fc_1", "msg_a1"]) },
  ]);
  await store.append("default", chat.id, [
    {
      content: {
        type: "summary",
        summary: {
          goal: "Plan a trip to Lisbon",
          decisions: ["Go in May"],
          facts: ["Weather is clear"],
          openItems: [],
          recentContext: "Asked about weather",
        },
        covers: { fromSeq: 2, toSeq: 5 },
        model: "gpt-4o-mini",
        tokens_before: 455,
        tokens_after: 40,
      },
    },
    msg("user", "And what should I pack?"),
    {
      id: "msg_a2",
      content: {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "Light clothes and sunscreen." }],
      },
    },
    { id: "resp_2", content: record("claude-sonnet-4-5", now - DAY, 510, 12, 0.0031, ["msg_a2"]) },
  ]);
  const fork = await store.fork("default", chat.id, { atSeq: 3, owner: "bob", labels: ["experiment"] });
  const ids = [chat.id, fork.id];
  for (let i = 0; i < extra; i++) {
    const s = await store.create("default", {
      owner: i % 2 ? "carol" : "dave",
      labels: i % 3 ? ["batch"] : [],
    });
    await store.append("default", s.id, [
      msg("user", `Question number ${i}`),
      {
        id: `msg_f${i}`,
        content: {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: `Answer ${i}` }],
        },
      },
      {
        id: `resp_f${i}`,
        content: record(
          i % 2 ? "gpt-4o-mini" : "claude-sonnet-4-5",
          now - (i % 5) * DAY,
          100 + i,
          20 + i,
          0.0001 * (i + 1),
          [`msg_f${i}`],
        ),
      },
    ]);
    ids.push(s.id);
  }
  return { chatId: chat.id, forkId: fork.id, sessionIds: ids };
}

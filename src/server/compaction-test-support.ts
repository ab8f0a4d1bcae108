/**
 * Test set-up for the accounting of compaction: a fake Chat upstream that answers the gateway's
 * summarizer calls with a valid summary and known usage (1,000 prompt + 200 completion tokens
 * each) and every other call with "Hello." (its own default usage), plus a conversation long
 * enough that a turn on model `small` (a 20,000-token window, served as gpt-4o-mini) compacts it.
 */
import { createHoldfastApp, type HoldfastApp } from "../app.ts";
import { testServerConfig } from "../config/test-server-config.ts";
import { type FakeChatUpstream, startFakeChatUpstream } from "./fake-chat-upstream.ts";

const SUMMARY = '{"goal":"g","decisions":[],"facts":["f"],"open_items":[],"recent_context":"r"}';

export interface CompactingUpstream {
  upstream: FakeChatUpstream;
  /** Summarizer calls answered so far. */
  summarizerCalls(): number;
}

export async function startCompactingUpstream(): Promise<CompactingUpstream> {
  let calls = 0;
  const upstream = await startFakeChatUpstream((_n, body) => {
    const first = (body.messages as { content?: unknown }[] | undefined)?.[0];
    if (typeof first?.content !== "string" || !first.content.startsWith("You compact")) {
      return { content: "Hello." };
    }
    calls++;
    return { content: SUMMARY, usage: { prompt_tokens: 1000, completion_tokens: 200 } };
  });
  return { upstream, summarizerCalls: () => calls };
}

/** The providers section routing model `small` (20,000-token window) to gpt-4o-mini on `baseUrl`. */
export function smallModelProviders(baseUrl: string, provider = "up") {
  return {
    providers: [{ name: provider, type: "openai-chat", baseUrl }],
    models: { small: { contextWindow: 20_000, maxOutputTokens: 1000 } },
    routes: { small: [{ provider, model: "gpt-4o-mini" }] },
  };
}

/** 20 long user messages: more than `small`'s window holds, so the next turn compacts. */
export function longConversationItems(): object[] {
  return Array.from({ length: 20 }, (_, n) => ({
    type: "message",
    role: "user",
    content: `note ${n} ${"lorem ipsum dolor sit amet ".repeat(160)}`,
  }));
}

export interface CompactingApp {
  compacting: CompactingUpstream;
  holdfast: HoldfastApp;
  close(): Promise<void>;
}

/**
 * `holdfast serve`'s app on a memory store, model `small` routed to a compacting upstream;
 * `file` adds config sections (e.g. `rate_limits`).
 */
export async function startCompactingApp(file: Record<string, unknown> = {}): Promise<CompactingApp> {
  const compacting = await startCompactingUpstream();
  const holdfast = await createHoldfastApp({
    config: testServerConfig({
      store: "memory:",
      file: { ...smallModelProviders(compacting.upstream.baseUrl, "good"), ...file },
    }),
    env: {},
  });
  return {
    compacting,
    holdfast,
    async close() {
      await holdfast.close();
      await compacting.upstream.close();
    },
  };
}

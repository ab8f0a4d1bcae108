/**
 * The usage ledger of a conversation: every turn's response record carries its usage and cost,
 * so the ledger is the records read back in order. Totals add them up.
 */
import type { SessionStore } from "../../store/types.ts";
import { RECORD_TYPE, type ResponseRecord } from "./record.ts";

export interface TurnUsage {
  response_id: string;
  created_at: number;
  model: string;
  status: ResponseRecord["status"];
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  /** Holdfast extension: the upstream reported no usage for this turn; the counts are Holdfast's estimate. */
  estimated?: true;
}

export interface ConversationUsage {
  object: "conversation.usage";
  conversation_id: string;
  turns: TurnUsage[];
  total: {
    turns: number;
    input_tokens: number;
    cached_tokens: number;
    output_tokens: number;
    cost_usd: number;
  };
}

const PAGE = 1000;

export async function conversationUsage(
  store: SessionStore,
  tenant: string,
  id: string,
): Promise<ConversationUsage> {
  const turns: TurnUsage[] = [];
  for (let after = 0; ; ) {
    const page = await store.readItems(tenant, id, { afterSeq: after, limit: PAGE });
    for (const item of page) {
      if (item.type !== RECORD_TYPE) continue;
      const record = item.content as unknown as ResponseRecord;
      turns.push({
        response_id: item.id,
        created_at: record.created_at,
        model: record.model,
        status: record.status,
        input_tokens: record.usage.input_tokens,
        cached_tokens: record.usage.cached_tokens,
        output_tokens: record.usage.output_tokens,
        cost_usd: record.cost_usd,
        ...(record.usage.estimated ? { estimated: true as const } : {}),
      });
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.seq;
  }
  const total = { turns: turns.length, input_tokens: 0, cached_tokens: 0, output_tokens: 0, cost_usd: 0 };
  for (const t of turns) {
    total.input_tokens += t.input_tokens;
    total.cached_tokens += t.cached_tokens;
    total.output_tokens += t.output_tokens;
    total.cost_usd += t.cost_usd ?? 0;
  }
  return { object: "conversation.usage", conversation_id: id, turns, total };
}

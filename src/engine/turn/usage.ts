/**
 * The usage ledger of a conversation: every turn's response record carries its usage and cost,
 * and what the compaction it triggered spent, so the ledger is the records read back in order.
 * Totals add them up: all that was spent, with the compaction share broken out.
 */
import { fromNanoUsd, toNanoUsd } from "../../nano-usd.ts";
import type { SessionStore } from "../../store/types.ts";
import type { CompactionRecord } from "./compaction-spend.ts";
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
  /**
   * The summarizer calls of the compaction this turn triggered (automatic or overflow recovery),
   * apart from the turn's own counts above; absent when it made none.
   */
  compaction?: CompactionUsage;
}

export interface CompactionUsage {
  calls: number;
  /** The model that served them. */
  model: string;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  estimated?: true;
}

interface Counts {
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface ConversationUsage {
  object: "conversation.usage";
  conversation_id: string;
  turns: TurnUsage[];
  /** Everything spent: the turns' own calls plus their compaction, whose share `compaction` gives. */
  total: Counts & { turns: number; compaction: Counts & { calls: number } };
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
        ...(record.compaction ? { compaction: compactionEntry(record.compaction) } : {}),
      });
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.seq;
  }
  const compaction = new Tally();
  const total = new Tally();
  let calls = 0;
  for (const t of turns) {
    total.add(t);
    if (!t.compaction) continue;
    total.add(t.compaction);
    compaction.add(t.compaction);
    calls += t.compaction.calls;
  }
  return {
    object: "conversation.usage",
    conversation_id: id,
    turns,
    total: { turns: turns.length, ...total.counts(), compaction: { calls, ...compaction.counts() } },
  };
}

/**
 * Token counts and cost added up. Money in integer nano-dollars, as the daily spend counter sums
 * it: a float sum of 0.1 and 0.2 would answer 0.30000000000000004.
 */
class Tally {
  input_tokens = 0;
  cached_tokens = 0;
  output_tokens = 0;
  #costUnits = 0;

  add(from: Omit<Counts, "cost_usd"> & { cost_usd: number | null }): void {
    this.input_tokens += from.input_tokens;
    this.cached_tokens += from.cached_tokens;
    this.output_tokens += from.output_tokens;
    // null: no price applied, counted as 0.
    if (from.cost_usd !== null) this.#costUnits += toNanoUsd(from.cost_usd);
  }

  counts(): Counts {
    const { input_tokens, cached_tokens, output_tokens } = this;
    // An integer over 1e9: the nearest double to the 9-decimal amount, so 0.3 prints as 0.3.
    return { input_tokens, cached_tokens, output_tokens, cost_usd: fromNanoUsd(this.#costUnits) };
  }
}

/** A record's compaction entry as the ledger lists it . */
function compactionEntry(c: CompactionRecord): CompactionUsage {
  return {
    calls: c.calls,
    model: c.model,
    input_tokens: c.input_tokens,
    cached_tokens: c.cached_tokens,
    output_tokens: c.output_tokens,
    cost_usd: c.cost_usd,
    ...(c.estimated ? { estimated: true as const } : {}),
  };
}

/**
 * What the model calls of a turn's compaction spent (automatic before the call, overflow recovery
 * after a context-length rejection): summed per turn, recorded on the turn's response record as
 * a separate `compaction` entry (the Responses `usage` object stays the turn's own call, as
 * OpenAI shapes it) and reported once to the caller's token budget and `onCompaction`.
 */
import { fromNanoUsd, toNanoUsd } from "../../nano-usd.ts";
import type { Usage } from "../providers/types.ts";
import type { ServedTarget } from "./turn-types.ts";
import type { RecordedUsage } from "./usage-estimate.ts";

/** The compaction entry of a response record: the summarizer calls a turn made, added up. */
export interface CompactionRecord {
  /** Summarizer calls (a long range is summarized chunk by chunk, one call each). */
  calls: number;
  /** The model that served them (the last one's, if a fallback changed it mid-way). */
  model: string;
  served_by: ServedTarget | null;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  /** Each call priced at the model that served it; null when none of them had a price. */
  cost_usd: number | null;
  /** Holdfast counted some of it itself: an upstream reported no usage for a call. */
  estimated?: true;
}

/** Told of a turn's compaction spend, once per turn that made summarizer calls; never for a replay. */
export interface CompactionSpend {
  tenant: string;
  sessionId: string;
  /** The turn that triggered it (its response record carries it when `stored`). */
  responseId: string;
  /** The model that served the summarizer calls. */
  model: string;
  calls: number;
  usage: RecordedUsage;
  costUsd: number | null;
  /**
   * Whether the turn's own commit stored the response record holding it (and so the usage ledger
   * and `turnsFromRecords` count it): false when the turn failed after compacting, or its commit
   * was lost to a store outage, and it wrote no record.
   */
  stored: boolean;
}

/** One summarizer call's usage (estimated when unreported), its cost and who served it. */
export interface CompactionCall {
  usage: RecordedUsage;
  costUsd: number | null;
  served: ServedTarget | null;
  /** The model that answered (as the upstream named it, else the target's, else the one asked for). */
  model: string;
}

/** A turn's compaction calls, added up; reports them once. */
export class CompactionTally {
  #record: CompactionRecord | null = null;
  /** The priced calls' cost in integer nano-dollars (a float sum drifts); null while none had a price. */
  #costUnits: number | null = null;
  #reported = false;
  readonly #report: (record: CompactionRecord, stored: boolean) => void;

  constructor(report: (record: CompactionRecord, stored: boolean) => void) {
    this.#report = report;
  }

  add(call: CompactionCall): void {
    const r = this.#record;
    if (call.costUsd !== null) this.#costUnits = (this.#costUnits ?? 0) + toNanoUsd(call.costUsd);
    const cost = this.#costUnits === null ? null : fromNanoUsd(this.#costUnits);
    this.#record = {
      calls: (r?.calls ?? 0) + 1,
      model: call.model,
      served_by: call.served ?? r?.served_by ?? null,
      input_tokens: (r?.input_tokens ?? 0) + call.usage.input_tokens,
      output_tokens: (r?.output_tokens ?? 0) + call.usage.output_tokens,
      cached_tokens: (r?.cached_tokens ?? 0) + call.usage.cached_tokens,
      cost_usd: cost,
      ...(r?.estimated || call.usage.estimated ? { estimated: true as const } : {}),
    };
  }

  /** What the response record keeps; null when the turn made no summarizer call. */
  get record(): CompactionRecord | null {
    return this.#record;
  }

  /**
   * Reports the spend, once: when the record carrying it is committed (`stored`), or, when the turn
   * ends without one, as not stored. A turn without summarizer calls reports nothing.
   */
  report(stored: boolean): void {
    if (this.#reported || !this.#record) return;
    this.#reported = true;
    this.#report(this.#record, stored);
  }
}

/** A compaction record's tokens as a `Usage` (what token budgets and metrics take). */
export function compactionUsage(record: CompactionRecord): Usage & { estimated?: true } {
  return {
    input_tokens: record.input_tokens,
    output_tokens: record.output_tokens,
    cached_tokens: record.cached_tokens,
    ...(record.estimated ? { estimated: true as const } : {}),
  };
}

/**
 * The history a turn sends upstream: loaded from the store, compacted first when the stored
 * window nears the model's input budget, and compacted and retried once when the provider
 * rejects the call as too long for its context.
 */
import { isHoldfastError } from "../../store/errors.ts";
import type { SessionStore } from "../../store/types.ts";
import type { ModelInfo } from "../context/catalog.ts";
import { type CompactResult, compact, isContextLengthError, shouldCompact } from "../context/compact.ts";
import { createModelTextCounter } from "../context/token-counter.ts";
import type { CompactionCall, CompactionTally } from "./compaction-spend.ts";
import { loadHistory, type TurnHistory } from "./history.ts";
import type { TurnPlan } from "./plan.ts";
import { createModelSummarizer, type SummarizerCall } from "./summarizer.ts";
import { compactingInTurn, freeCovered, keepWithin, type RoomBounds } from "./turn-room.ts";
import type { ModelInvoker } from "./turn-types.ts";
import { estimateUsage, usageMissing } from "./usage-estimate.ts";

/** Automatic compaction as the engine was configured; `false` turns it off. */
export type CompactionOption = false | { threshold?: number; keepRecentShare?: number } | undefined;

/** loadHistory's refusal of a conversation longer than the budget when it may not truncate. */
function isOverBudget(error: unknown): boolean {
  return isHoldfastError(error) && error.code === "context_length_exceeded";
}

export class TurnWindow {
  readonly #store: SessionStore;
  readonly #invoker: ModelInvoker;
  readonly #reserve: number;
  readonly #compaction: { threshold: number; keepRecentShare: number } | null;

  constructor(store: SessionStore, invoker: ModelInvoker, reserve: number, compaction: CompactionOption) {
    this.#store = store;
    this.#invoker = invoker;
    this.#reserve = reserve;
    this.#compaction =
      compaction === false
        ? null
        : { threshold: compaction?.threshold ?? 0.8, keepRecentShare: compaction?.keepRecentShare ?? 0.25 };
  }

  /**
   * Runs `call`; on a context-length rejection compacts the conversation and runs it once more.
   * `inputSeqs`: where the write-ahead append put the request's input (null when nothing was
   * written), so the history can tell the request's own items from the conversation's.
   * `tally` adds up what the summarizer calls of its compactions spend.
   */
  async withOverflowRecovery<T>(
    plan: TurnPlan,
    inputSeqs: readonly number[] | null,
    tally: CompactionTally,
    call: (history: TurnHistory) => Promise<T>,
  ): Promise<T> {
    const history = await this.#history(plan, inputSeqs, tally);
    try {
      return await call(history);
    } catch (error) {
      if (!isContextLengthError(error) || !this.#compactable(plan)) throw error;
      const { model, maxOutputTokens, budget } = this.#limits(plan);
      if (!(await this.#compact(plan, model, budget, tally)).compacted) throw error;
      const options = { maxOutputTokens, reserve: this.#reserve, inputSeqs };
      return call(await loadHistory(this.#store, plan, model, options));
    }
  }

  #limits(plan: TurnPlan): { model: ModelInfo; maxOutputTokens: number; budget: number } {
    const model = this.#invoker.describe(plan.request.model);
    const maxOutputTokens = plan.request.maxOutputTokens ?? model.maxOutputTokens;
    return {
      model,
      maxOutputTokens,
      budget: Math.max(1, model.contextWindow - maxOutputTokens - this.#reserve),
    };
  }

  /** The items sent upstream; compacts first when the stored window nears the model's budget. */
  async #history(
    plan: TurnPlan,
    inputSeqs: readonly number[] | null,
    tally: CompactionTally,
  ): Promise<TurnHistory> {
    const { model, maxOutputTokens, budget } = this.#limits(plan);
    const options = { maxOutputTokens, reserve: this.#reserve, inputSeqs };
    const auto = this.#compaction;
    let history: TurnHistory;
    try {
      history = await loadHistory(this.#store, plan, model, options);
    } catch (error) {
      // With truncation disabled a conversation already over the budget is refused by the load
      // itself, before its size could ask for compaction: fold it first and load it again (still
      // too long: the same 400, from that second load).
      if (!isOverBudget(error) || !auto || !this.#compactable(plan)) throw error;
      if (!(await this.#compact(plan, model, budget, tally)).compacted) throw error;
      return loadHistory(this.#store, plan, model, options);
    }
    if (
      !auto ||
      !this.#compactable(plan) ||
      !shouldCompact(history.uncoveredTokens, model, auto.threshold, { maxOutputTokens })
    ) {
      return history;
    }
    await this.#compact(plan, model, budget, tally);
    return loadHistory(this.#store, plan, model, options);
  }

  #compactable(plan: TurnPlan): boolean {
    return (
      this.#compaction !== null && plan.persist && plan.sessionId !== null && plan.historyUntilSeq === null
    );
  }

  /**
   * Makes room for the turn's input under a session quota (turn-room.ts): summarizes all but the
   * newest items within `bounds` (and the window's own recent share), as automatic compaction
   * does, then frees what the summary covers. Writes through `store`, the store under the quota
   * check. Answers a sentence for the refusal, should the input still not fit.
   */
  async makeRoom(
    store: SessionStore,
    plan: TurnPlan,
    tally: CompactionTally,
    bounds: RoomBounds,
  ): Promise<string | undefined> {
    if (this.#compaction === null) return undefined;
    const { model, budget } = this.#limits(plan);
    const sessionId = plan.sessionId!;
    const keep = await keepWithin(store, plan.tenant, sessionId, bounds, this.#keepRecent(budget));
    const result = await this.#summarize(store, plan, model, tally, keep);
    const freed = await freeCovered(store, plan.tenant, sessionId);
    const summarized = result.compacted
      ? `Compaction summarized items ${result.covers!.fromSeq}–${result.covers!.toSeq}`
      : `Compaction found nothing more to summarize (${result.reason})`;
    return `${summarized} and freed ${freed} item${freed === 1 ? "" : "s"}, not enough for this input.`;
  }

  #keepRecent(budget: number): number {
    return Math.max(1, Math.floor(budget * (this.#compaction?.keepRecentShare ?? 0.25)));
  }

  /**
   * Summarizes the older part of the conversation; `compacted` false when there was nothing to
   * fold. Automatic compaction and overflow recovery run after the turn's input is written, so
   * admitted under any session quota: the summary is written in the turn's compacting scope
   * (turn-room.ts), which `holdfast serve`'s quota check lets through, as it does the turn's
   * final append. Refusing it failed the turn mid-way, its input unanswered.
   */
  #compact(plan: TurnPlan, model: ModelInfo, budget: number, tally: CompactionTally): Promise<CompactResult> {
    const keep = this.#keepRecent(budget);
    return compactingInTurn(plan, () => this.#summarize(this.#store, plan, model, tally, keep));
  }

  /** Summarizes all but the newest `keep` tokens through `store`, the calls on `tally`. */
  async #summarize(
    store: SessionStore,
    plan: TurnPlan,
    model: ModelInfo,
    tally: CompactionTally,
    keep: number,
  ): Promise<CompactResult> {
    // Sized from the model, so small context windows still leave the summarizer room to work.
    const summaryMaxTokens = Math.max(64, Math.min(4096, Math.floor(model.contextWindow / 4)));
    return compact(store, plan.tenant, plan.sessionId!, {
      model,
      keepRecentTokens: keep,
      summaryMaxTokens,
      maxChunkTokens: Math.max(
        128,
        Math.min(model.contextWindow - summaryMaxTokens - 2048, Math.floor(model.contextWindow / 2)),
      ),
      summarize: createModelSummarizer(
        (r, onServed) => this.#invoker.complete(r, onServed),
        plan.request.model,
        (call) => tally.add(this.#priced(plan, model, call)),
      ),
    });
  }

  /**
   * One summarizer call's usage, estimated when the upstream reported none (as a turn's is), and
   * its cost at the model that served it. Counted whether or not its summary is then appended:
   * the call was paid for either way (a summary no smaller than its range, a lost race).
   */
  #priced(plan: TurnPlan, model: ModelInfo, call: SummarizerCall): CompactionCall {
    // An answered call: the upstream had its prompt. Counted only when the usage is unreported.
    const answered = { tokens: 0, instructions: call.instructions, reached: true as const };
    const usage = usageMissing(call.result, answered)
      ? estimateUsage(call.result, model, { ...answered, tokens: createModelTextCounter(model)(call.prompt) })
      : call.result.usage;
    const served = call.served ?? undefined;
    const costUsd = this.#invoker.cost?.(plan.request.model, usage, served) ?? null;
    return {
      usage,
      costUsd,
      served: call.served,
      model: call.result.model || call.served?.model || plan.request.model,
    };
  }
}

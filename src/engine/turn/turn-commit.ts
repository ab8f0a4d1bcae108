/**
 * Storing a turn's outcome: its output items and response record in one atomic append, and,
 * when the store refuses that, the record alone as `failed`, so the turn and its usage stay
 * visible and the conversation keeps no half of the answer. A store that is unavailable gets
 * nothing more: the turn's retry runs it again.
 */
import type { HoldfastError } from "../../store/errors.ts";
import type { AppendResult, ItemInput, JsonObject, SessionStore } from "../../store/types.ts";
import type { TurnResult } from "../providers/types.ts";
import { commitFailure } from "./commit-failure.ts";
import type { CompactionTally } from "./compaction-spend.ts";
import type { TurnHistory } from "./history.ts";
import type { TurnPlan } from "./plan.ts";
import { toResponseObject, wireItem } from "./record.ts";
import type { TurnClaim } from "./turn-claim.ts";
import { finalRecord, outputItems } from "./turn-records.ts";
import type { FinishedTurn, ModelInvoker, TurnContext } from "./turn-types.ts";
import { estimateUsage, type RecordedUsage, type SentInput, usageMissing } from "./usage-estimate.ts";

export class TurnCommitter {
  readonly #store: SessionStore;
  readonly #invoker: ModelInvoker;
  readonly #clock: () => number;
  readonly #onTurn: ((turn: FinishedTurn) => void) | undefined;

  constructor(
    store: SessionStore,
    invoker: ModelInvoker,
    clock: () => number,
    onTurn?: (turn: FinishedTurn) => void,
  ) {
    this.#store = store;
    this.#invoker = invoker;
    this.#clock = clock;
    this.#onTurn = onTurn;
  }

  /**
   * Commits the turn. When the store refuses its output (an answer larger than it keeps in one
   * item, a store error other than `unavailable`), the record alone is committed as `failed`, with the error and the usage
   * spent: the turn stays visible (`GET /v1/responses/{id}`, the usage ledger) and the
   * conversation holds no part of the answer, so no call is left without its output for later
   * turns to trip on. Throws the reason, worded for a gateway client, once the caller was told.
   * The record carries what the turn's compaction spent (`tally`), reported once it is stored.
   * `onTurn` hears of the call once however the commit went: the provider charged for it.
   */
  async settle(
    plan: TurnPlan,
    input: AppendResult | null,
    result: TurnResult,
    ctx: TurnContext,
    claim: TurnClaim | null,
    sent: SentInput | null,
    tally: CompactionTally,
    error?: HoldfastError,
  ): Promise<JsonObject> {
    const usage = this.#usage(plan, result, sent);
    // Spent whether or not the store takes it: the caller settles its token budget with it.
    ctx.onSpent?.(usage);
    // Priced at the model that ran: a route alias has no price of its own, and a fallback target
    // bills at its own rates, not at those of the target the route tried first.
    const costUsd = this.#invoker.cost?.(plan.request.model, usage, sent?.target) ?? null;
    const paid: FinishedTurn = {
      tenant: plan.tenant,
      // As the record's `served_by` names it (turn-records.ts), else the model asked for.
      model: result.model || sent?.target?.model || plan.request.model,
      usage,
      costUsd,
      stored: false,
    };
    let committed: Committed;
    try {
      committed = await this.#commit(plan, input, result, usage, costUsd, claim, sent, tally, error);
    } catch (cause) {
      ctx.onCommitError?.(cause);
      const failure = commitFailure(cause, result.output.length);
      // A store that did not answer refused nothing: the client is told to retry, so nothing more
      // is written. The input stays unanswered and a retry with the same idempotency key runs the
      // turn again (or, if the append did commit unseen, finds its answer). A `failed` record here
      // would be what that retry gets back: a permanent failure for a transient outage.
      let stored = false;
      if (failure.code !== "unavailable") {
        const empty: TurnResult = {
          id: result.id,
          model: result.model,
          output: [],
          // Spent all the same: counted from the answer, which the record-only commit leaves out.
          usage,
          status: "completed",
          finish_reason: "error",
        };
        stored = await this.#commit(plan, input, empty, usage, costUsd, claim, sent, tally, failure)
          .then((done) => done.stored)
          .catch((again: unknown) => {
            ctx.onCommitError?.(again);
            return false;
          });
      }
      // The answer was paid for although no record of it was stored (an outage, or a store that
      // took neither the answer nor the record): told once, so spend caps and metrics count it.
      // A retry that later finds an answer committed unseen replays it and is not told again.
      this.#onTurn?.({ ...paid, stored });
      throw failure;
    }
    this.#onTurn?.({ ...paid, stored: committed.stored });
    return committed.response;
  }

  /**
   * Appends outputs + the response record in one atomic append and returns the Response object,
   * and whether this append stored the record (not when the store replayed an earlier one).
   */
  async #commit(
    plan: TurnPlan,
    input: AppendResult | null,
    result: TurnResult,
    usage: RecordedUsage,
    costUsd: number | null,
    claim: TurnClaim | null,
    sent: SentInput | null,
    tally: CompactionTally,
    error?: HoldfastError,
  ): Promise<Committed> {
    const outputs = outputItems(result);
    const now = this.#clock();
    const served = sent?.target;
    const record = finalRecord(
      plan,
      now,
      input,
      outputs,
      result,
      usage,
      costUsd,
      error,
      served,
      tally.record,
    );
    let stored = false;
    if (plan.persist && plan.sessionId) {
      const items: ItemInput[] = [
        ...outputs,
        { id: plan.responseId, content: record as unknown as JsonObject, tokens: 0 },
      ];
      const options = { operationId: plan.operationIds.output };
      const appended = await this.#store.append(
        plan.tenant,
        plan.sessionId,
        items,
        claim ? claim.finalOptions(options) : options,
      );
      claim?.released();
      // A replayed append (a driver retrying a write whose answer was lost) stored nothing new:
      // metrics counting from records (`turnsFromRecords`) saw no record either.
      stored = !appended.replayed;
    }
    tally.report(stored);
    const response = toResponseObject(
      plan.responseId,
      record,
      outputs.map((o) => wireItem({ id: o.id!, content: o.content })),
    );
    return { response, stored };
  }

  /** The turn's usage as recorded. */
  #usage(plan: TurnPlan, result: TurnResult, sent: SentInput | null): RecordedUsage {
    // Counting only when the upstream left usage out: a turn with reported usage pays nothing here.
    return usageMissing(result, sent)
      ? estimateUsage(result, this.#invoker.describe(plan.request.model), sent)
      : result.usage;
  }
}

/** A committed turn: its Response object, and whether this commit stored its record. */
interface Committed {
  response: JsonObject;
  stored: boolean;
}

/** What a turn sent upstream, kept for the usage estimate. */
export function sentInput(plan: TurnPlan, history: TurnHistory): SentInput {
  return { tokens: history.tokens, instructions: plan.request.instructions };
}

/**
 * One turn: plan → write-ahead append of the input → window → provider call → one atomic
 * append of the output items and the response record. Streaming yields provider events as they
 * come; if the client goes away or the upstream fails mid-way, whatever was produced is
 * committed with status `incomplete` and the usage spent so far.
 */
import { HoldfastError } from "../../store/errors.ts";
import type { AppendResult, ItemInput, JsonObject, SessionStore } from "../../store/types.ts";
import { LIMITS } from "../../store/validate.ts";
import type { ModelInfo } from "../context/catalog.ts";
import { compact, isContextLengthError, shouldCompact } from "../context/compact.ts";
import { CancelledError } from "../providers/errors.ts";
import { StreamTracker } from "../providers/output.ts";
import type { TurnEvent, TurnRequest, TurnResult, Usage } from "../providers/types.ts";
import { type BusyPolicy, type BusySettings, busySettings, ConversationLocks } from "./busy.ts";
import { commitFailure } from "./commit-failure.ts";
import { loadHistory, type TurnHistory } from "./history.ts";
import { checkItemSizes } from "./input.ts";
import { planTurn, type TurnPlan } from "./plan.ts";
import { toResponseObject, wireItem } from "./record.ts";
import { checkRecordSize } from "./record-size.ts";
import { replayEvents } from "./replay-events.ts";
import { parseResponseRequest } from "./request.ts";
import { readResponse } from "./response-reads.ts";
import { createModelSummarizer } from "./summarizer.ts";
import { TurnClaim } from "./turn-claim.ts";
import { baseRecord, finalRecord, outputItems } from "./turn-records.ts";
import { toTurnRequest } from "./upstream-request.ts";
import { estimateUsage, type RecordedUsage, type SentInput, usageMissing } from "./usage-estimate.ts";

/** What the engine needs from the provider layer (routing, fallback and retries live behind it). */
export interface ModelInvoker {
  /** The catalog entry for a requested model (limits, tokenizer, quirks); throws `model_not_found` if nobody serves it. */
  describe(model: string): ModelInfo;
  complete(request: TurnRequest): Promise<TurnResult>;
  stream(request: TurnRequest): AsyncIterable<TurnEvent>;
  /** Cost in USD of a turn's usage, or null when the model has no prices. */
  cost?(model: string, usage: Usage): number | null;
}

export interface TurnEngineOptions {
  store: SessionStore;
  invoker: ModelInvoker;
  busyPolicy?: BusyPolicy;
  /** Lifetime of a turn's claim on its conversation in the store, ms (default 15000; renewed while the turn runs). */
  busyClaimTtlMs?: number;
  /** Under `queue`, the longest a turn waits for its conversation before 409 `conversation_busy`, ms (default 60000). */
  busyMaxWaitMs?: number;
  /** Tokens kept free besides the output budget (instructions, tool schemas, per-message overhead). Default 512. */
  reserveTokens?: number;
  /**
   * Automatic compaction: before a turn whose stored window reaches `threshold` of the model's
   * input budget, older items are summarized (by the conversation's own model); and a provider's
   * context-length rejection is answered by compacting and retrying once. `false` disables both.
   */
  compaction?: false | { threshold?: number; keepRecentShare?: number };
  /**
   * The store's largest item (its `maxItemBytes`; default `LIMITS.itemBytes`, the store's own
   * default). Larger input items are refused before the turn writes anything.
   */
  maxItemBytes?: number;
  clock?: () => number;
}

export interface TurnContext {
  idempotencyKey?: string;
  /**
   * The caller's end user (an access token's `sub`); null or absent for API keys. Sessions the
   * turn creates or forks belong to it, and ids derived from `idempotencyKey` are per owner.
   */
  owner?: string | null;
  /**
   * The one conversation the caller may write to (a conversation-scoped token's); null or absent
   * for callers that may reach more. A turn that would create or fork a session is refused (403).
   */
  conversationScope?: string | null;
  signal?: AbortSignal;
  /**
   * Told when a turn's answer could not be stored (the store refused the commit): the caller
   * logs it. The turn also fails with the reason, unless its client is gone and nobody hears it.
   */
  onCommitError?: (error: unknown) => void;
}

/** How a turn holds its conversation: the in-process lock and the store claim across instances. */
interface TurnGuard {
  claim: TurnClaim | null;
  /** Epoch ms after which a queued turn stops waiting. */
  deadline: number;
  unlock: () => void;
}

export type EngineEvent =
  | { type: "created"; response: JsonObject }
  | { type: "provider"; event: TurnEvent }
  | { type: "completed"; response: JsonObject }
  | { type: "failed"; response: JsonObject; error: HoldfastError };

export class TurnEngine {
  readonly #store: SessionStore;
  readonly #invoker: ModelInvoker;
  readonly #locks: ConversationLocks;
  readonly #busy: BusySettings;
  readonly #reserve: number;
  readonly #maxItemBytes: number;
  readonly #clock: () => number;
  readonly #compaction: { threshold: number; keepRecentShare: number } | null;

  constructor(options: TurnEngineOptions) {
    this.#store = options.store;
    this.#invoker = options.invoker;
    this.#busy = busySettings({
      policy: options.busyPolicy,
      claimTtlMs: options.busyClaimTtlMs,
      maxWaitMs: options.busyMaxWaitMs,
    });
    this.#locks = new ConversationLocks(this.#busy.policy);
    this.#reserve = options.reserveTokens ?? 512;
    this.#maxItemBytes = options.maxItemBytes ?? LIMITS.itemBytes;
    this.#clock = options.clock ?? Date.now;
    const c = options.compaction;
    this.#compaction =
      c === false ? null : { threshold: c?.threshold ?? 0.8, keepRecentShare: c?.keepRecentShare ?? 0.25 };
  }

  async #plan(
    tenant: string,
    body: unknown,
    ctx: TurnContext,
  ): Promise<{ plan: TurnPlan; replay: JsonObject | null }> {
    const request = parseResponseRequest(body);
    checkItemSizes(request.input, this.#maxItemBytes, "input");
    checkRecordSize(request, this.#maxItemBytes);
    this.#invoker.describe(request.model);
    const plan = await planTurn(
      this.#store,
      tenant,
      request,
      ctx.idempotencyKey,
      ctx.owner ?? null,
      ctx.conversationScope ?? null,
    );
    if (ctx.idempotencyKey && plan.sessionId && plan.persist) {
      const replay = await readResponse(this.#store, tenant, plan.responseId).catch(() => null);
      return { plan, replay };
    }
    return { plan, replay: null };
  }

  /**
   * Plans the turn, waits for its conversation and writes its input (taking the claim). A turn
   * continuing `previous_response_id` in place appends only if nothing came after that response
   * meanwhile (a turn that queued behind another with the same previous response); otherwise it
   * is planned again and branches off as a fork, as if it had arrived second.
   */
  async #begin(
    tenant: string,
    body: unknown,
    ctx: TurnContext,
  ): Promise<
    | { plan: TurnPlan; replay: JsonObject }
    | { plan: TurnPlan; replay: null; guard: TurnGuard; input: AppendResult | null }
  > {
    for (let attempt = 1; ; attempt++) {
      const { plan, replay } = await this.#plan(tenant, body, ctx);
      if (replay) return { plan, replay };
      const guard = await this.#lock(plan);
      try {
        // Cut short while it queued (client gone, shutdown): nothing is written, nothing is called.
        if (ctx.signal?.aborted)
          throw new CancelledError("The turn was cancelled while it waited for its conversation.");
        const input = await this.#writeInput(plan, guard);
        // A retry that waited behind the turn it repeats (same idempotency key, this instance or
        // another): that turn committed meanwhile, so answer with it instead of calling the
        // upstream again. A replayed input without a response is a turn that died mid-way: run it.
        if (input?.replayed && ctx.idempotencyKey) {
          const replay = await readResponse(this.#store, tenant, plan.responseId).catch(() => null);
          if (replay) {
            await this.#unlock(guard);
            return { plan, replay };
          }
        }
        return { plan, replay: null, guard, input };
      } catch (error) {
        await this.#unlock(guard);
        const moved = plan.continuesVersion !== undefined && (error as { code?: string }).code === "conflict";
        if (!moved || attempt >= 3) throw error;
      }
    }
  }

  /** Same-instance turns queue in memory; the store claim (taken with the input) covers other instances. */
  async #lock(plan: TurnPlan): Promise<TurnGuard> {
    if (!plan.sessionId || !plan.persist) return { claim: null, deadline: 0, unlock: () => {} };
    const deadline = Date.now() + this.#busy.maxWaitMs;
    const unlock = await this.#locks.acquire(
      `${plan.tenant}\u0000${plan.sessionId}`,
      deadline,
      plan.sessionId,
    );
    return { claim: new TurnClaim(this.#store, plan.tenant, plan.sessionId, this.#busy), deadline, unlock };
  }

  /** Releases whatever the turn still holds, however it ended. */
  async #unlock(guard: TurnGuard): Promise<void> {
    try {
      await guard.claim?.end();
    } finally {
      guard.unlock();
    }
  }

  /**
   * The write-ahead append of the input, which also claims the conversation. The window is read
   * after it, so a turn that waited sees the previous turn's output.
   */
  async #writeInput(plan: TurnPlan, guard: TurnGuard): Promise<AppendResult | null> {
    if (!plan.persist || !plan.sessionId || !guard.claim) return null;
    const options = {
      operationId: plan.operationIds.input,
      ...(plan.continuesVersion === undefined ? {} : { expectedVersion: plan.continuesVersion }),
    };
    return guard.claim.appendInput(plan.request.input, options, guard.deadline);
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
  async #history(plan: TurnPlan): Promise<TurnHistory> {
    const { model, maxOutputTokens, budget } = this.#limits(plan);
    const options = { maxOutputTokens, reserve: this.#reserve };
    const history = await loadHistory(this.#store, plan, model, options);
    const auto = this.#compaction;
    if (
      !auto ||
      !this.#compactable(plan) ||
      !shouldCompact(history.uncoveredTokens, model, auto.threshold, { maxOutputTokens })
    ) {
      return history;
    }
    await this.#compact(plan, model, budget);
    return loadHistory(this.#store, plan, model, options);
  }

  #compactable(plan: TurnPlan): boolean {
    return (
      this.#compaction !== null && plan.persist && plan.sessionId !== null && plan.historyUntilSeq === null
    );
  }

  /** Summarizes the older part of the conversation; false when there was nothing to fold. */
  async #compact(plan: TurnPlan, model: ModelInfo, budget: number): Promise<boolean> {
    const keep = Math.max(1, Math.floor(budget * (this.#compaction?.keepRecentShare ?? 0.25)));
    // Sized from the model, so small context windows still leave the summarizer room to work.
    const summaryMaxTokens = Math.max(64, Math.min(4096, Math.floor(model.contextWindow / 4)));
    const result = await compact(this.#store, plan.tenant, plan.sessionId!, {
      model,
      keepRecentTokens: keep,
      summaryMaxTokens,
      maxChunkTokens: Math.max(
        128,
        Math.min(model.contextWindow - summaryMaxTokens - 2048, Math.floor(model.contextWindow / 2)),
      ),
      summarize: createModelSummarizer((r) => this.#invoker.complete(r), plan.request.model),
    });
    return result.compacted;
  }

  /** Runs `call`; on a context-length rejection compacts the conversation and runs it once more. */
  async #withOverflowRecovery<T>(plan: TurnPlan, call: (history: TurnHistory) => Promise<T>): Promise<T> {
    const history = await this.#history(plan);
    try {
      return await call(history);
    } catch (error) {
      if (!isContextLengthError(error) || !this.#compactable(plan)) throw error;
      const { model, maxOutputTokens, budget } = this.#limits(plan);
      if (!(await this.#compact(plan, model, budget))) throw error;
      return call(await loadHistory(this.#store, plan, model, { maxOutputTokens, reserve: this.#reserve }));
    }
  }

  /** The turn's usage as recorded. */
  #usage(plan: TurnPlan, result: TurnResult, sent: SentInput | null): RecordedUsage {
    // Counting only when the upstream left usage out: a turn with reported usage pays nothing here.
    return usageMissing(result)
      ? estimateUsage(result, this.#invoker.describe(plan.request.model), sent)
      : result.usage;
  }

  /** Appends outputs + the response record in one atomic append and returns the Response object. */
  async #commit(
    plan: TurnPlan,
    input: AppendResult | null,
    result: TurnResult,
    claim: TurnClaim | null,
    sent: SentInput | null,
    error?: HoldfastError,
  ): Promise<JsonObject> {
    const outputs = outputItems(result);
    const now = this.#clock();
    const usage = this.#usage(plan, result, sent);
    const costUsd = this.#invoker.cost?.(plan.request.model, usage) ?? null;
    const record = finalRecord(plan, now, input, outputs, result, usage, costUsd, error);
    if (plan.persist && plan.sessionId) {
      const items: ItemInput[] = [
        ...outputs,
        { id: plan.responseId, content: record as unknown as JsonObject, tokens: 0 },
      ];
      const options = { operationId: plan.operationIds.output };
      await this.#store.append(
        plan.tenant,
        plan.sessionId,
        items,
        claim ? claim.finalOptions(options) : options,
      );
      claim?.released();
    }
    return toResponseObject(
      plan.responseId,
      record,
      outputs.map((o) => wireItem({ id: o.id!, content: o.content })),
    );
  }

  /**
   * Commits the turn. When the store refuses its output (an answer larger than it keeps in one
   * item, a store error), the record alone is committed as `failed`, with the error and the usage
   * spent: the turn stays visible (`GET /v1/responses/{id}`, the usage ledger) and the
   * conversation holds no part of the answer, so no call is left without its output for later
   * turns to trip on. Throws the reason, worded for a gateway client, once the caller was told.
   */
  async #settle(
    plan: TurnPlan,
    input: AppendResult | null,
    result: TurnResult,
    ctx: TurnContext,
    claim: TurnClaim | null,
    sent: SentInput | null,
    error?: HoldfastError,
  ): Promise<JsonObject> {
    try {
      return await this.#commit(plan, input, result, claim, sent, error);
    } catch (cause) {
      ctx.onCommitError?.(cause);
      const failure = commitFailure(cause, result.output.length);
      const empty: TurnResult = {
        id: result.id,
        model: result.model,
        output: [],
        // Spent all the same: counted from the answer, which the record-only commit leaves out.
        usage: this.#usage(plan, result, sent),
        status: "completed",
        finish_reason: "error",
      };
      await this.#commit(plan, input, empty, claim, sent, failure).catch((again: unknown) => {
        ctx.onCommitError?.(again);
      });
      throw failure;
    }
  }

  /** Runs a non-streaming turn and returns the Responses API object. */
  async respond(tenant: string, body: unknown, ctx: TurnContext = {}): Promise<JsonObject> {
    const begun = await this.#begin(tenant, body, ctx);
    if (begun.replay) return begun.replay;
    const { plan, guard, input } = begun;
    let sent: SentInput | null = null;
    try {
      let result: TurnResult;
      try {
        result = await this.#withOverflowRecovery(plan, (history) => {
          sent = sentInput(plan, history);
          return this.#invoker.complete(toTurnRequest(plan, history.input, ctx.signal));
        });
      } catch (error) {
        // Cut short on purpose (client gone, server shutting down): like a stream cut short, the
        // turn is committed as incomplete, so the conversation does not keep an unanswered input.
        // A non-streamed call reports nothing before its end, so nothing was produced or counted.
        if (!ctx.signal?.aborted) throw error;
        result = new StreamTracker().partial(plan.request.model);
      }
      return await this.#settle(plan, input, result, ctx, guard.claim, sent);
    } finally {
      await this.#unlock(guard);
    }
  }

  /**
   * Runs a streaming turn. Validation and planning happen before the first event, so a caller
   * that awaits the first `next()` can still answer bad requests with a 4xx.
   */
  async *respondStream(tenant: string, body: unknown, ctx: TurnContext = {}): AsyncGenerator<EngineEvent> {
    const begun = await this.#begin(tenant, body, ctx);
    if (begun.replay) {
      const replay = begun.replay;
      yield { type: "created", response: { ...replay, status: "in_progress", output: [] } };
      for (const event of replayEvents(replay.output as JsonObject[])) yield { type: "provider", event };
      yield { type: "completed", response: replay };
      return;
    }
    const { plan, guard, input } = begun;
    const tracker = new StreamTracker();
    let sent: SentInput | null = null;
    let started = false;
    let settled = false;
    try {
      // Open the upstream before announcing the response: if every target fails before its first
      // event, the caller still gets a proper status instead of a stream that only says "failed".
      const opened = await this.#withOverflowRecovery(plan, async (history) => {
        sent = sentInput(plan, history);
        const iterator = this.#invoker
          .stream(toTurnRequest(plan, history.input, ctx.signal))
          [Symbol.asyncIterator]();
        return { iterator, first: await iterator.next() };
      }).catch((error: unknown) => {
        // Cut short on purpose before the upstream answered: committed as incomplete, as below.
        if (ctx.signal?.aborted) return null;
        throw error;
      });
      const pending = toResponseObject(plan.responseId, baseRecord(plan, this.#clock()), []);
      if (!opened) {
        settled = true;
        const response = await this.#settle(
          plan,
          input,
          tracker.partial(plan.request.model),
          ctx,
          guard.claim,
          sent,
        );
        yield { type: "created", response: pending };
        yield { type: "completed", response };
        return;
      }
      started = true;
      yield { type: "created", response: pending };
      let result: TurnResult | null = null;
      let failure: HoldfastError | undefined;
      try {
        for (let next = opened.first; !next.done; next = await opened.iterator.next()) {
          const event = next.value;
          tracker.push(event);
          if (event.type === "done") result = event.result;
          else if (event.type === "error") {
            failure = event.error;
            result = event.partial;
          } else yield { type: "provider", event };
        }
      } catch (error) {
        failure = error instanceof HoldfastError ? error : new HoldfastError("upstream_error", String(error));
      } finally {
        await opened.iterator.return?.();
      }
      const final = result ?? tracker.partial(plan.request.model);
      // #settle answers for its own failure: nothing is committed again below.
      settled = true;
      const response = await this.#settle(plan, input, final, ctx, guard.claim, sent, failure);
      // A turn cut short on purpose (client gone, server shutting down) is incomplete, not failed.
      if (failure && failure.code !== "cancelled") yield { type: "failed", response, error: failure };
      else yield { type: "completed", response };
    } finally {
      // The consumer stopped early (client disconnected): keep what was produced, as incomplete.
      // A turn that never started streaming commits nothing, so a retry runs it afresh.
      if (started && !settled && input) {
        // Nobody is left to tell of a failure: #settle has reported it through ctx.onCommitError.
        await this.#settle(plan, input, tracker.partial(plan.request.model), ctx, guard.claim, sent).catch(
          () => {},
        );
      }
      await this.#unlock(guard);
    }
  }
}

/** What a turn sent upstream, kept for the usage estimate. */
function sentInput(plan: TurnPlan, history: TurnHistory): SentInput {
  return { tokens: history.tokens, instructions: plan.request.instructions };
}

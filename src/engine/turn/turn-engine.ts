/**
 * One turn: plan → write-ahead append of the input → window → provider call → one atomic
 * append of the output items and the response record. Streaming yields provider events as they
 * come; if the client goes away or the upstream fails mid-way, whatever was produced is
 * committed with status `incomplete` and the usage spent so far. The steps live beside it:
 * starting a turn (turn-start.ts), its window (turn-window.ts), its commit (turn-commit.ts).
 */
import { HoldfastError } from "../../store/errors.ts";
import type { AppendResult, JsonObject, SessionStore } from "../../store/types.ts";
import { LIMITS } from "../../store/validate.ts";
import { cancelledInFlight } from "../providers/errors.ts";
import { StreamTracker } from "../providers/output.ts";
import type { TurnEvent, TurnResult } from "../providers/types.ts";
import { type BusyPolicy, busySettings } from "./busy.ts";
import { type CompactionSpend, CompactionTally, compactionUsage } from "./compaction-spend.ts";
import type { TurnPlan } from "./plan.ts";
import { announcedResponse, type ResponseRecord } from "./record.ts";
import { replayEvents } from "./replay-events.ts";
import { sentInput, TurnCommitter } from "./turn-commit.ts";
import { baseRecord } from "./turn-records.ts";
import { type RoomBounds, turnWritingInput } from "./turn-room.ts";
import { releaseGuard, TurnStarter } from "./turn-start.ts";
import type { FinishedTurn, ModelInvoker, TurnContext } from "./turn-types.ts";
import { TurnWindow } from "./turn-window.ts";
import { toTurnRequest } from "./upstream-request.ts";
import type { SentInput } from "./usage-estimate.ts";

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
  /**
   * Told of every turn finished with its usage and cost, once, whatever became of its commit:
   * committed, storing nothing, or lost to a store outage after the model answered (the provider
   * charged for it all the same); not of replays. Response records count stored turns already
   * (`withStoreMetrics` with `turnsFromRecords`): this is where turns without one are seen.
   */
  onTurn?: (turn: FinishedTurn) => void;
  /**
   * Told of what a turn's compaction spent on summarizer calls (automatic or overflow recovery),
   * once per turn that made any, apart from `onTurn`'s `costUsd` (the turn's own call): when its
   * response record is committed (`stored`), or when the turn ends without one. Never for a replay.
   * Spend caps add it to the turns' cost; `turnsFromRecords` counts the stored ones already.
   */
  onCompaction?: (spend: CompactionSpend) => void;
}

export type EngineEvent =
  | { type: "created"; response: JsonObject }
  | { type: "provider"; event: TurnEvent }
  | { type: "completed"; response: JsonObject }
  | { type: "failed"; response: JsonObject; error: HoldfastError };

export class TurnEngine {
  readonly #invoker: ModelInvoker;
  readonly #clock: () => number;
  readonly #starter: TurnStarter;
  readonly #window: TurnWindow;
  readonly #committer: TurnCommitter;
  readonly #onCompaction: ((spend: CompactionSpend) => void) | undefined;

  constructor(options: TurnEngineOptions) {
    const { store, invoker } = options;
    this.#invoker = invoker;
    this.#clock = options.clock ?? Date.now;
    const busy = busySettings({
      policy: options.busyPolicy,
      claimTtlMs: options.busyClaimTtlMs,
      maxWaitMs: options.busyMaxWaitMs,
    });
    this.#starter = new TurnStarter(store, invoker, busy, options.maxItemBytes ?? LIMITS.itemBytes);
    this.#window = new TurnWindow(store, invoker, options.reserveTokens ?? 512, options.compaction);
    this.#committer = new TurnCommitter(store, invoker, this.#clock, options.onTurn);
    this.#onCompaction = options.onCompaction;
  }

  /** Adds up a turn's compaction calls; tells the caller's token budget and `onCompaction` once. */
  #tally(plan: TurnPlan, ctx: TurnContext): CompactionTally {
    return new CompactionTally((record, stored) => {
      const usage = compactionUsage(record);
      ctx.onSpent?.(usage);
      this.#onCompaction?.({
        tenant: plan.tenant,
        // Only a turn on a stored conversation compacts (turn-window.ts).
        sessionId: plan.sessionId ?? "",
        responseId: plan.responseId,
        model: record.model,
        calls: record.calls,
        usage,
        costUsd: record.cost_usd,
        stored,
      });
    });
  }

  /**
   * The compaction hook of a session quota (withQuotas' `compact`, wired by `holdfast serve`):
   * when the append being checked is a turn's input (turn-room.ts), summarizes and frees the
   * older part of its conversation through `store` (the store under the quota check), with the
   * turn's model and on its tally. Any other append (items added outside a turn: no model to
   * summarize with) is left alone: undefined. Answers a sentence for the refusal otherwise.
   */
  makeRoom(
    store: SessionStore,
    tenant: string,
    sessionId: string,
    bounds: RoomBounds,
  ): Promise<string | undefined> {
    const turn = turnWritingInput(tenant, sessionId);
    if (!turn) return Promise.resolve(undefined);
    return this.#window.makeRoom(store, turn.plan, turn.tally, bounds);
  }

  /** Runs a non-streaming turn and returns the Responses API object. */
  async respond(tenant: string, body: unknown, ctx: TurnContext = {}): Promise<JsonObject> {
    const begun = await this.#starter.begin(tenant, body, ctx, (plan) => this.#tally(plan, ctx));
    if (begun.replay) return begun.replay.response;
    const { plan, guard, input, tally } = begun;
    let sent: SentInput | null = null;
    try {
      let result: TurnResult;
      try {
        result = await this.#window.withOverflowRecovery(plan, inputSeqs(input), tally, (history) => {
          const current = sentInput(plan, history);
          sent = current;
          return this.#invoker
            .complete(toTurnRequest(plan, history, ctx.signal), (target) => {
              current.target = target;
            })
            .then((answered) => {
              current.reached = true;
              return answered;
            })
            .catch((error: unknown) => {
              markCutInFlight(current, error);
              throw error;
            });
        });
      } catch (error) {
        // Cut short on purpose (client gone, server shutting down): like a stream cut short, the
        // turn is committed as incomplete, so the conversation does not keep an unanswered input.
        // A non-streamed call reports nothing before its end, so nothing was produced; if its
        // request had reached the upstream, the prompt was billed and its input is estimated
        // (usage-estimate.ts), else (cut before the call, between retries) nothing was spent.
        if (!ctx.signal?.aborted) throw error;
        result = new StreamTracker().partial(servedModel(plan, sent));
      }
      return await this.#committer.settle(plan, input, result, ctx, guard.claim, sent, tally);
    } finally {
      // A turn that failed after compacting wrote no record: its summarizer calls were paid all the same.
      tally.report(false);
      await releaseGuard(guard);
    }
  }

  /**
   * Runs a streaming turn. Validation and planning happen before the first event, so a caller
   * that awaits the first `next()` can still answer bad requests with a 4xx.
   */
  async *respondStream(tenant: string, body: unknown, ctx: TurnContext = {}): AsyncGenerator<EngineEvent> {
    const begun = await this.#starter.begin(tenant, body, ctx, (plan) => this.#tally(plan, ctx));
    if (begun.replay) {
      const { response, record } = begun.replay;
      // Announced as the first stream was: how the turn ended comes with the closing event.
      yield { type: "created", response: announcedResponse(begun.plan.responseId, record) };
      for (const event of replayEvents(response.output as JsonObject[])) yield { type: "provider", event };
      // Ended as the first stream did: a turn its upstream failed raises its error again, rather
      // than closing as a clean `response.incomplete` a client would take for a token limit.
      const failure = replayedFailure(record);
      if (failure) yield { type: "failed", response, error: failure };
      else yield { type: "completed", response };
      return;
    }
    const { plan, guard, input, tally } = begun;
    const tracker = new StreamTracker();
    let sent: SentInput | null = null;
    let started = false;
    let settled = false;
    try {
      // Open the upstream before announcing the response: if every target fails before its first
      // event, the caller still gets a proper status instead of a stream that only says "failed".
      const opened = await this.#window
        .withOverflowRecovery(plan, inputSeqs(input), tally, async (history) => {
          const current = sentInput(plan, history);
          sent = current;
          const iterator = this.#invoker
            .stream(toTurnRequest(plan, history, ctx.signal), (target) => {
              current.target = target;
            })
            [Symbol.asyncIterator]();
          try {
            const first = await iterator.next();
            current.reached = true;
            return { iterator, first };
          } catch (error) {
            // Cut before the first event, the request out: its input is billed (settled below).
            markCutInFlight(current, error);
            throw error;
          }
        })
        .catch((error: unknown) => {
          // Cut short on purpose before the upstream answered: committed as incomplete, as below.
          if (ctx.signal?.aborted) return null;
          throw error;
        });
      const pending = announcedResponse(plan.responseId, baseRecord(plan, this.#clock()));
      if (!opened) {
        settled = true;
        const response = await this.#committer.settle(
          plan,
          input,
          tracker.partial(servedModel(plan, sent)),
          ctx,
          guard.claim,
          sent,
          tally,
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
      const final = result ?? tracker.partial(servedModel(plan, sent));
      // settle answers for its own failure: nothing is committed again below.
      settled = true;
      const response = await this.#committer.settle(
        plan,
        input,
        final,
        ctx,
        guard.claim,
        sent,
        tally,
        failure,
      );
      // A turn cut short on purpose (client gone, server shutting down) is incomplete, not failed.
      if (failure && failure.code !== "cancelled") yield { type: "failed", response, error: failure };
      else yield { type: "completed", response };
    } finally {
      // The consumer stopped early (client disconnected): keep what was produced, as incomplete.
      // A turn that never started streaming commits nothing, so a retry runs it afresh.
      if (started && !settled && input) {
        // Nobody is left to tell of a failure: settle has reported it through ctx.onCommitError.
        await this.#committer
          .settle(plan, input, tracker.partial(servedModel(plan, sent)), ctx, guard.claim, sent, tally)
          .catch(() => {});
      }
      tally.report(false);
      await releaseGuard(guard);
    }
  }
}

/**
 * Notes a call cut by its caller after its request reached a target (`CancelledError.sentTo`): the
 * turn is priced there and its input, billed though unreported, is estimated (usage-estimate.ts).
 * A call cut before anything went out (before the call, between retries) spent nothing.
 */
function markCutInFlight(sent: SentInput, error: unknown): void {
  const reached = cancelledInFlight(error);
  if (!reached) return;
  sent.target = reached;
  sent.reached = true;
}

/** The model a partial result is credited to: the target serving the turn, else the one asked for. */
function servedModel(plan: TurnPlan, sent: SentInput | null): string {
  return sent?.target?.model ?? plan.request.model;
}

/**
 * Where the write-ahead append put the request's input items, in order (an append takes
 * consecutive seqs; a replayed one may have lost items deleted since, so not its `items`); null
 * when nothing was written.
 */
function inputSeqs(input: AppendResult | null): number[] | null {
  if (!input) return null;
  return Array.from({ length: input.lastSeq - input.firstSeq + 1 }, (_, i) => input.firstSeq + i);
}

/**
 * The failure a stored turn's stream ended with, as the first stream yielded it: its recorded
 * error, but for a turn cut short on purpose (`cancelled`), which ended as an incomplete answer.
 */
function replayedFailure(record: ResponseRecord): HoldfastError | undefined {
  const error = record.error;
  if (!error || error.code === "cancelled") return undefined;
  return new HoldfastError(error.code, error.message);
}

/**
 * The two contracts a turn runs against, shared by the engine's parts: the provider layer
 * (`ModelInvoker`) and the caller (`TurnContext`).
 */

import type { ModelInfo } from "../context/catalog.ts";
import type { TurnEvent, TurnRequest, TurnResult, Usage } from "../providers/types.ts";

/** The route target (provider and upstream model) that answered a call, after any fallback. */
export interface ServedTarget {
  provider: string;
  model: string;
}

/**
 * Told which target serves a call once the route picked it (a stream: before its first event),
 * so a turn is priced at the model that ran, not at the alias it asked for.
 */
export type OnServed = (target: ServedTarget) => void;

/** What the engine needs from the provider layer (routing, fallback and retries live behind it). */
export interface ModelInvoker {
  /** The catalog entry for a requested model (limits, tokenizer, quirks); throws `model_not_found` if nobody serves it. */
  describe(model: string): ModelInfo;
  /**
   * One non-streamed call. Cut short by `request.signal` after its request reached a target, it
   * rejects with a `CancelledError` whose `sentTo` names that target (providers/errors.ts): the
   * turn then records the prompt's input tokens, estimated, at that target's prices.
   */
  complete(request: TurnRequest, onServed?: OnServed): Promise<TurnResult>;
  /** One streamed call; cut before its first event after its request went out, it rejects as `complete` does. */
  stream(request: TurnRequest, onServed?: OnServed): AsyncIterable<TurnEvent>;
  /**
   * Cost in USD of a turn's usage, or null when no price applies: at the prices of `served`, the
   * route target that answered, when known; else at those of the `requested` model.
   */
  cost?(requested: string, usage: Usage, served?: ServedTarget): number | null;
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
  /**
   * Told once the usage a turn spent upstream is known (estimated when unreported), whether or
   * not the store then takes it: the caller settles its token budget with it. Called once for the
   * turn's own call and once more for its compaction's summarizer calls, if it made any (also
   * when the turn then failed): add them up. Never called for a replay, which called no model,
   * nor for a turn that failed before any model answered.
   */
  onSpent?: (usage: Usage) => void;
}

/**
 * A turn the engine finished, told once per model call it paid for: committed, storing nothing,
 * or not stored because its commit failed (a store outage): what spend caps and metrics count.
 */
export interface FinishedTurn {
  tenant: string;
  /** The model that served it (the requested one when none did). */
  model: string;
  usage: Usage & { estimated?: true };
  costUsd: number | null;
  /**
   * Whether the turn's own commit stored a response record holding it (metrics counting from
   * records, `turnsFromRecords`, counted it there); false for `store: false` and stateless chat
   * turns, and for a turn whose commit failed (nor a record-only one took it).
   */
  stored: boolean;
}

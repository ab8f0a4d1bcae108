/**
 * Starting a turn: validate and plan the request, queue for its conversation and write its input
 * (which claims the conversation), or, for an idempotent retry whose turn already committed, find
 * that turn's response so it is answered again instead of calling the upstream twice.
 */
import { NotFoundError } from "../../store/errors.ts";
import type { AppendResult, SessionStore } from "../../store/types.ts";
import { CancelledError } from "../providers/errors.ts";
import { type BusySettings, ConversationLocks } from "./busy.ts";
import type { CompactionTally } from "./compaction-spend.ts";
import { checkItemSizes } from "./input.ts";
import { planTurn, type TurnPlan } from "./plan.ts";
import { checkRecordSize } from "./record-size.ts";
import { parseResponseRequest } from "./request.ts";
import { readStoredResponse, type StoredResponse } from "./response-reads.ts";
import { TurnClaim } from "./turn-claim.ts";
import { writingInput } from "./turn-room.ts";
import type { ModelInvoker, TurnContext } from "./turn-types.ts";

/** How a turn holds its conversation: the in-process lock and the store claim across instances. */
export interface TurnGuard {
  claim: TurnClaim | null;
  /** Epoch ms after which a queued turn stops waiting. */
  deadline: number;
  unlock: () => void;
}

/**
 * A started turn: either the response it repeats (nothing held), or its guard, written input and
 * the tally of its compaction (which may have begun at the input append, to make room under a quota).
 */
export type StartedTurn =
  | { plan: TurnPlan; replay: StoredResponse }
  | {
      plan: TurnPlan;
      replay: null;
      guard: TurnGuard;
      input: AppendResult | null;
      tally: CompactionTally;
    };

export class TurnStarter {
  readonly #store: SessionStore;
  readonly #invoker: ModelInvoker;
  readonly #locks: ConversationLocks;
  readonly #busy: BusySettings;
  readonly #maxItemBytes: number;

  constructor(store: SessionStore, invoker: ModelInvoker, busy: BusySettings, maxItemBytes: number) {
    this.#store = store;
    this.#invoker = invoker;
    this.#busy = busy;
    this.#locks = new ConversationLocks(busy.policy);
    this.#maxItemBytes = maxItemBytes;
  }

  /**
   * Plans the turn, waits for its conversation and writes its input (taking the claim). A turn
   * continuing `previous_response_id` in place appends only if nothing came after that response
   * meanwhile (a turn that queued behind another with the same previous response); otherwise it
   * is planned again and branches off as a fork, as if it had arrived second.
   * `tallyOf` makes the turn's compaction tally; the input append runs with the turn findable by a
   * quota's compaction hook (turn-room.ts), whose summarizer calls go on it.
   */
  async begin(
    tenant: string,
    body: unknown,
    ctx: TurnContext,
    tallyOf: (plan: TurnPlan) => CompactionTally,
  ): Promise<StartedTurn> {
    for (let attempt = 1; ; attempt++) {
      const { plan, replay } = await this.#plan(tenant, body, ctx);
      if (replay) return { plan, replay };
      const guard = await this.#lock(plan);
      const tally = tallyOf(plan);
      try {
        // Cut short while it queued (client gone, shutdown): nothing is written, nothing is called.
        if (ctx.signal?.aborted)
          throw new CancelledError("The turn was cancelled while it waited for its conversation.");
        const input = await writingInput({ plan, tally }, () => this.#writeInput(plan, guard));
        // A retry that waited behind the turn it repeats (same idempotency key, this instance or
        // another): that turn committed meanwhile, so answer with it instead of calling the
        // upstream again. A replayed input without a response is a turn that died mid-way: run it.
        if (input?.replayed && ctx.idempotencyKey) {
          const replay = await readStoredResponse(this.#store, tenant, plan.responseId).catch(() => null);
          if (replay) {
            tally.report(false);
            await releaseGuard(guard);
            return { plan, replay };
          }
        }
        return { plan, replay: null, guard, input, tally };
      } catch (error) {
        // Refused after compacting (still over a quota): its summarizer calls were paid all the same.
        tally.report(false);
        await releaseGuard(guard);
        const moved = plan.continuesVersion !== undefined && (error as { code?: string }).code === "conflict";
        if (!moved || attempt >= 3) throw namedConversation(error, plan.request.conversationId);
      }
    }
  }

  async #plan(
    tenant: string,
    body: unknown,
    ctx: TurnContext,
  ): Promise<{ plan: TurnPlan; replay: StoredResponse | null }> {
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
    ).catch((error: unknown) => {
      throw namedConversation(error, request.conversationId);
    });
    if (ctx.idempotencyKey && plan.sessionId && plan.persist) {
      const replay = await readStoredResponse(this.#store, tenant, plan.responseId).catch(() => null);
      return { plan, replay };
    }
    return { plan, replay: null };
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
}

/**
 * The store names a missing session `session_id`; the turn's client named it `conversation`
 * (the chat route renames that to its header). Starting a turn on a conversation touches no
 * other session, so such a 404 is about that conversation: it says so, as OpenAI's does.
 */
function namedConversation(error: unknown, conversationId: string | null | undefined): unknown {
  if (!conversationId || !(error instanceof NotFoundError) || error.param !== "session_id") return error;
  return new NotFoundError(`Conversation with id '${conversationId}' not found.`, { param: "conversation" });
}

/** Releases whatever the turn still holds, however it ended. */
export async function releaseGuard(guard: TurnGuard): Promise<void> {
  try {
    await guard.claim?.end();
  } finally {
    guard.unlock();
  }
}

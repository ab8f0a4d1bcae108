/**
 * One turn: plan → write-ahead append of the input → window → provider call → one atomic
 * append of the output items and the response record. Streaming yields provider events as they
 * come; if the client goes away or the upstream fails mid-way, whatever was produced is
 * committed with status `incomplete` and the usage spent so far.
 */
import { HoldfastError } from "../../store/errors.ts";
import { ITEM_ID_PATTERN, newItemId } from "../../store/ids.ts";
import type { AppendResult, Item, ItemInput, JsonObject, SessionStore } from "../../store/types.ts";
import { pairSafeStart } from "../../store/window-pairs.ts";
import { StreamTracker } from "../providers/output.ts";
import type { InputItem, TurnEvent, TurnRequest, TurnResult, Usage } from "../providers/types.ts";
import { type BusyPolicy, ConversationLocks } from "./busy.ts";
import { planTurn, type TurnPlan } from "./plan.ts";
import {
  INTERNAL_ITEM_TYPES,
  RECORD_TYPE,
  type ResponseRecord,
  toResponseObject,
  wireItem,
} from "./record.ts";
import { parseResponseRequest } from "./request.ts";
import { readResponse } from "./response-reads.ts";

export interface ModelInfo {
  contextWindow: number;
  maxOutputTokens: number;
}

/** What the engine needs from the provider layer (routing, fallback and retries live behind it). */
export interface ModelInvoker {
  /** Throws an InvalidArgumentError with code `model_not_found` for a model nobody serves. */
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
  /** Tokens kept free besides the output budget (instructions, tool schemas, per-message overhead). Default 512. */
  reserveTokens?: number;
  clock?: () => number;
}

export interface TurnContext {
  idempotencyKey?: string;
  signal?: AbortSignal;
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
  readonly #reserve: number;
  readonly #clock: () => number;

  constructor(options: TurnEngineOptions) {
    this.#store = options.store;
    this.#invoker = options.invoker;
    this.#locks = new ConversationLocks(options.busyPolicy ?? "queue");
    this.#reserve = options.reserveTokens ?? 512;
    this.#clock = options.clock ?? Date.now;
  }

  async #plan(
    tenant: string,
    body: unknown,
    ctx: TurnContext,
  ): Promise<{ plan: TurnPlan; replay: JsonObject | null }> {
    const request = parseResponseRequest(body);
    this.#invoker.describe(request.model);
    const plan = await planTurn(this.#store, tenant, request, ctx.idempotencyKey);
    if (ctx.idempotencyKey && plan.sessionId && plan.persist) {
      const replay = await readResponse(this.#store, tenant, plan.responseId).catch(() => null);
      return { plan, replay };
    }
    return { plan, replay: null };
  }

  async #lock(plan: TurnPlan): Promise<() => void> {
    if (!plan.sessionId || !plan.persist) return () => {};
    return this.#locks.acquire(`${plan.tenant}\u0000${plan.sessionId}`);
  }

  async #writeInput(plan: TurnPlan): Promise<AppendResult | null> {
    if (!plan.persist || !plan.sessionId) return null;
    return this.#store.append(plan.tenant, plan.sessionId, plan.request.input, {
      operationId: plan.operationIds.input,
    });
  }

  /** The items sent upstream: the stored window (input included), or the input alone. */
  async #history(plan: TurnPlan): Promise<InputItem[]> {
    const request = plan.request;
    const info = this.#invoker.describe(request.model);
    const output = request.maxOutputTokens ?? info.maxOutputTokens;
    const budget = Math.max(0, info.contextWindow - output - this.#reserve);
    let items: Pick<Item, "type" | "content" | "tokens">[];
    let truncated = false;
    if (!plan.sessionId) {
      items = request.input.map((i) => ({ type: String(i.content.type), content: i.content, tokens: 0 }));
    } else if (plan.historyUntilSeq !== null) {
      const all = await this.#store.readItems(plan.tenant, plan.sessionId, {
        beforeSeq: plan.historyUntilSeq + 1,
        order: "desc",
        limit: 10_000,
      });
      const kept: Item[] = [];
      let tokens = 0;
      for (const item of all) {
        if (tokens + item.tokens > budget) break;
        tokens += item.tokens;
        kept.unshift(item);
      }
      truncated = kept.length < all.length;
      items = [
        ...kept,
        ...request.input.map((i) => ({ type: String(i.content.type), content: i.content, tokens: 0 })),
      ];
    } else {
      const window = await this.#store.readWindow(plan.tenant, plan.sessionId, { maxTokens: budget });
      items = window.items;
      truncated = window.truncated;
    }
    const visible = items.filter((i) => !INTERNAL_ITEM_TYPES.has(i.type));
    const start = pairSafeStart(visible);
    if ((truncated || start > 0) && request.truncation === "disabled") {
      throw new HoldfastError(
        "context_length_exceeded",
        `The conversation needs more than the ${budget} input tokens ${request.model} leaves after ${output} output tokens; ` +
          'set truncation to "auto" to fit it, or compact the conversation.',
        { param: "input" },
      );
    }
    return visible.slice(start).map((i) => i.content as unknown as InputItem);
  }

  #turnRequest(plan: TurnPlan, input: InputItem[], signal: AbortSignal | undefined): TurnRequest {
    const r = plan.request;
    return {
      model: r.model,
      input,
      ...(r.instructions !== null ? { instructions: r.instructions } : {}),
      ...(r.tools.length > 0
        ? { tools: r.tools, tool_choice: r.toolChoice, parallel_tool_calls: r.parallelToolCalls }
        : {}),
      ...(r.maxOutputTokens !== null ? { max_output_tokens: r.maxOutputTokens } : {}),
      ...(r.temperature !== null ? { temperature: r.temperature } : {}),
      ...(r.topP !== null ? { top_p: r.topP } : {}),
      ...(r.user !== null ? { user: r.user } : {}),
      ...(signal ? { signal } : {}),
    };
  }

  /** Appends outputs + the response record in one atomic append and returns the Response object. */
  async #commit(
    plan: TurnPlan,
    input: AppendResult | null,
    result: TurnResult,
    error?: HoldfastError,
  ): Promise<JsonObject> {
    const r = plan.request;
    const outputs: ItemInput[] = result.output.map((item) => {
      const { id: upstreamId, ...body } = item as JsonObject;
      // Keep the id the stream already showed the client, when it is one we can store.
      const id =
        typeof upstreamId === "string" && ITEM_ID_PATTERN.test(upstreamId)
          ? upstreamId
          : newItemId(String(body.type));
      return { id, content: body as JsonObject };
    });
    const record: ResponseRecord = {
      ...baseRecord(plan, this.#clock()),
      status: error && result.output.length === 0 ? "failed" : result.status,
      served_by: result.model ? { provider: "", model: result.model } : null,
      input_item_ids: input?.items.map((i) => i.id) ?? [],
      output_item_ids: outputs.map((o) => o.id!),
      usage: { ...result.usage },
      cost_usd: this.#invoker.cost?.(r.model, result.usage) ?? null,
      incomplete_reason: result.status === "incomplete" ? (result.incomplete_reason ?? "interrupted") : null,
      error: error ? { code: error.code, message: error.message } : null,
    };
    if (plan.persist && plan.sessionId) {
      const items: ItemInput[] = [
        ...outputs,
        { id: plan.responseId, content: record as unknown as JsonObject, tokens: 0 },
      ];
      await this.#store.append(plan.tenant, plan.sessionId, items, { operationId: plan.operationIds.output });
    }
    return toResponseObject(
      plan.responseId,
      record,
      outputs.map((o) => wireItem({ id: o.id!, content: o.content })),
    );
  }

  /** Runs a non-streaming turn and returns the Responses API object. */
  async respond(tenant: string, body: unknown, ctx: TurnContext = {}): Promise<JsonObject> {
    const { plan, replay } = await this.#plan(tenant, body, ctx);
    if (replay) return replay;
    const release = await this.#lock(plan);
    try {
      const input = await this.#writeInput(plan);
      const history = await this.#history(plan);
      const result = await this.#invoker.complete(this.#turnRequest(plan, history, ctx.signal));
      return await this.#commit(plan, input, result);
    } finally {
      release();
    }
  }

  /**
   * Runs a streaming turn. Validation and planning happen before the first event, so a caller
   * that awaits the first `next()` can still answer bad requests with a 4xx.
   */
  async *respondStream(tenant: string, body: unknown, ctx: TurnContext = {}): AsyncGenerator<EngineEvent> {
    const { plan, replay } = await this.#plan(tenant, body, ctx);
    if (replay) {
      yield { type: "created", response: { ...replay, status: "in_progress", output: [] } };
      yield { type: "completed", response: replay };
      return;
    }
    const release = await this.#lock(plan);
    const tracker = new StreamTracker();
    let input: AppendResult | null = null;
    let settled = false;
    try {
      input = await this.#writeInput(plan);
      const history = await this.#history(plan);
      const pending = toResponseObject(plan.responseId, baseRecord(plan, this.#clock()), []);
      yield { type: "created", response: pending };
      let result: TurnResult | null = null;
      let failure: HoldfastError | undefined;
      try {
        for await (const event of this.#invoker.stream(this.#turnRequest(plan, history, ctx.signal))) {
          tracker.push(event);
          if (event.type === "done") result = event.result;
          else if (event.type === "error") {
            failure = event.error;
            result = event.partial;
          } else yield { type: "provider", event };
        }
      } catch (error) {
        failure = error instanceof HoldfastError ? error : new HoldfastError("upstream_error", String(error));
      }
      const final = result ?? tracker.partial(plan.request.model);
      const response = await this.#commit(plan, input, final, failure);
      settled = true;
      if (failure) yield { type: "failed", response, error: failure };
      else yield { type: "completed", response };
    } finally {
      // The consumer stopped early (client disconnected): keep what was produced, as incomplete.
      if (!settled && input)
        await this.#commit(plan, input, tracker.partial(plan.request.model)).catch(() => {});
      release();
    }
  }
}

/** The record of a turn that has not produced anything yet (also the `in_progress` response). */
function baseRecord(plan: TurnPlan, now: number): ResponseRecord {
  const r = plan.request;
  return {
    type: RECORD_TYPE,
    status: "in_progress",
    model: r.model,
    served_by: null,
    created_at: Math.floor(now / 1000),
    conversation_id: r.conversationId,
    previous_response_id: r.previousResponseId,
    instructions: r.instructions,
    input_item_ids: [],
    output_item_ids: [],
    usage: { input_tokens: 0, output_tokens: 0, cached_tokens: 0 },
    cost_usd: null,
    metadata: r.metadata,
    request: {
      tools: r.tools as unknown as JsonObject[],
      tool_choice: r.toolChoice as string | JsonObject,
      parallel_tool_calls: r.parallelToolCalls,
      max_output_tokens: r.maxOutputTokens,
      temperature: r.temperature,
      top_p: r.topP,
      truncation: r.truncation,
    },
    incomplete_reason: null,
    error: null,
  };
}

/**
 * The router: resolves a model alias to its ordered targets and walks them. Per target: circuit
 * breaker check, then retries with backoff; on a failure that another target may fix it falls
 * back to the next target, after letting the caller re-fit the input to that model's context
 * window. A stream falls back only until its first event; after that a failure becomes a terminal
 * `error` event carrying the partial output.
 */
import { EventEmitter } from "node:events";
import { InvalidArgumentError } from "../../store/errors.ts";
import { type BreakerTransition, CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { CancelledError, CircuitOpenError, mapErrorForRouter, ProviderError } from "./errors.ts";
import { DEFAULT_RETRY, type RetryOptions, retryOptions, withRetry } from "./retry.ts";
import { type BreakerSlot, judge, type RelayState, relay } from "./router-relay.ts";
import type { InputItem, Provider, TurnEvent, TurnRequest, TurnResult } from "./types.ts";

export interface RouteTarget {
  /** Provider name from the configuration. */
  provider: string;
  /** Model name sent upstream. */
  model: string;
  /** Targets next to each other that carry weights are load-balanced among themselves. */
  weight?: number;
}

/** Re-fits the input items to the context window of a fallback target's model. */
export type RefitInput = (
  items: readonly InputItem[],
  targetModel: string,
  target: RouteTarget,
) => readonly InputItem[] | Promise<readonly InputItem[]>;

export interface AttemptRecord {
  provider: string;
  model: string;
  /** Error code of a failed attempt (after its retries); absent for the serving one. */
  error?: string;
  retries: number;
}

export interface RouterOptions {
  providers: ReadonlyMap<string, Provider>;
  /** Resolves a requested model (alias) to its ordered targets; throws for unknown models. */
  resolve: (model: string) => readonly RouteTarget[];
  /** Retry settings, per provider name or for all. */
  retry?: Partial<RetryOptions> | ((provider: string) => Partial<RetryOptions>);
  /** Breaker settings, per provider name or for all. */
  breaker?: Partial<CircuitBreakerOptions> | ((provider: string) => Partial<CircuitBreakerOptions>);
  random?: () => number;
}

export interface RouteOptions {
  refit?: RefitInput;
  /**
   * The output token limit of a model (the requested one for the first target, a fallback
   * target's own after), sent as the request's `output_limit`.
   */
  outputLimit?: (model: string) => number | undefined;
}

export interface RoutedResult {
  result: TurnResult;
  target: RouteTarget;
  attempts: AttemptRecord[];
}

export interface RoutedStream {
  target: RouteTarget;
  attempts: AttemptRecord[];
  /** Starts with the first upstream event; ends with `done` or a terminal `error`. */
  events: AsyncIterable<TurnEvent>;
  /**
   * Drops the stream without reading it (or stops reading it): cancels the upstream request and
   * frees the breaker slot. Breaking out of a `for await` over `events` does the same.
   */
  cancel(): Promise<void>;
}

export interface RouterEvents {
  breaker: [BreakerTransition];
  attempt: [AttemptRecord];
}

export class Router extends EventEmitter<RouterEvents> {
  #providers: ReadonlyMap<string, Provider>;
  #resolve: RouterOptions["resolve"];
  #retry = new Map<string, Readonly<RetryOptions>>();
  #breakers = new Map<string, CircuitBreaker>();
  #random: () => number;

  constructor(options: RouterOptions) {
    super();
    this.#providers = options.providers;
    this.#resolve = options.resolve;
    this.#random = options.random ?? Math.random;
    for (const name of this.#providers.keys()) {
      const settings = typeof options.breaker === "function" ? options.breaker(name) : options.breaker;
      const retry = typeof options.retry === "function" ? options.retry(name) : options.retry;
      this.#retry.set(name, retryOptions(retry ?? DEFAULT_RETRY));
      const breaker = new CircuitBreaker(name, settings);
      breaker.on("state", (transition) => this.emit("breaker", transition));
      this.#breakers.set(name, breaker);
    }
  }

  /** The breaker of one provider (state is observable for metrics). */
  breaker(provider: string): CircuitBreaker | undefined {
    return this.#breakers.get(provider);
  }

  /** Breaker states of all providers. */
  breakerStates(): Record<string, string> {
    return Object.fromEntries([...this.#breakers].map(([name, breaker]) => [name, breaker.state]));
  }

  /** The attempt order for a model: weighted groups shuffled by weight, the rest in order. */
  plan(model: string): RouteTarget[] {
    const targets = this.#resolve(model);
    if (targets.length === 0)
      throw new InvalidArgumentError(`Model '${model}' has no targets.`, { param: "model" });
    const order: RouteTarget[] = [];
    for (let i = 0; i < targets.length; ) {
      if (targets[i]!.weight === undefined) {
        order.push(targets[i++]!);
        continue;
      }
      const group: RouteTarget[] = [];
      while (i < targets.length && targets[i]!.weight !== undefined) group.push(targets[i++]!);
      order.push(...weightedShuffle(group, this.#random));
    }
    return order;
  }

  /** One non-streamed turn along the route. */
  async complete(request: TurnRequest, options: RouteOptions = {}): Promise<RoutedResult> {
    const {
      value: result,
      target,
      attempts,
    } = await this.#walk(request, options, async (provider, targeted, slot, target) => {
      // Checked here, so a call cut below had gone out: adapters hand their request to the HTTP
      // pool before their first await.
      if (request.signal?.aborted) {
        slot.breaker.onCancel(slot.ticket);
        throw new CancelledError(undefined, { provider: target.provider });
      }
      try {
        const value = await provider.complete(targeted);
        slot.breaker.onSuccess(slot.ticket);
        return value;
      } catch (error) {
        judge(slot, error);
        // Cut while the upstream had the request: it bills the prompt although it answered
        // nothing, so the caller is told where it went (the turn records its input as estimated).
        if (request.signal?.aborted) throw cancelledAt(target, error);
        throw error;
      }
    });
    return { result, target, attempts };
  }

  /**
   * Opens a stream along the route; resolves once a target produced its first event (falling
   * back before that), rejects when every target failed.
   */
  async openStream(request: TurnRequest, options: RouteOptions = {}): Promise<RoutedStream> {
    const {
      value: opened,
      target,
      slot,
      attempts,
    } = await this.#walk(request, options, async (provider, targeted, slot, target) => {
      // As in `complete`: a stream adapter sends its request on the first `next()`, before its
      // first await, so a stream cut after this check had its request out.
      if (request.signal?.aborted) {
        slot.breaker.onCancel(slot.ticket);
        throw new CancelledError(undefined, { provider: target.provider });
      }
      const iterator = provider.stream(targeted)[Symbol.asyncIterator]();
      try {
        const first = await iterator.next();
        if (first.done)
          throw new ProviderError(`${target.provider} ended its stream without any event.`, {
            provider: target.provider,
          });
        return { iterator, first: first.value };
      } catch (error) {
        judge(slot, error);
        await iterator.return?.().catch(() => {});
        // Cut before the first event while the upstream had the request: its prompt is billed.
        if (request.signal?.aborted) throw cancelledAt(target, error);
        throw error;
      }
    });
    const state: RelayState = { started: false, settled: false };
    const events = relay(opened.iterator, opened.first, slot, target, state);
    const cancel = async (): Promise<void> => {
      if (state.started) {
        await events.return(undefined);
        return;
      }
      // A generator that never started would skip its `finally`: release by hand.
      state.started = true;
      state.settled = true;
      slot.breaker.onCancel(slot.ticket);
      await opened.iterator.return?.().catch(() => {});
    };
    return { target, attempts, events, cancel };
  }

  /**
   * Walks the route for one turn: per target the breaker check and retries around `attempt`, one
   * attempt record per target, falling back while the failure allows it; rejects with the last
   * failure. `attempt` reports its outcome to the breaker itself: a completion succeeds on its
   * result, a stream only once it ends (the relay does that), always with the ticket of its own
   * acquire (a retry acquires anew).
   */
  async #walk<T>(
    request: TurnRequest,
    options: RouteOptions,
    attempt: (
      provider: Provider,
      targeted: TurnRequest,
      slot: BreakerSlot,
      target: RouteTarget,
    ) => Promise<T>,
  ): Promise<{ value: T; target: RouteTarget; slot: BreakerSlot; attempts: AttemptRecord[] }> {
    const attempts: AttemptRecord[] = [];
    let lastError: ProviderError | undefined;
    for (const [index, target] of this.plan(request.model).entries()) {
      const targeted = await this.#targetRequest(request, target, index, options);
      const provider = this.#provider(target);
      const breaker = this.#breakers.get(target.provider)!;
      let retries = 0;
      try {
        const { value, slot } = await withRetry(
          async () => {
            const ticket = breaker.tryAcquire();
            if (!ticket) throw openCircuit(target);
            const slot: BreakerSlot = { breaker, ticket };
            return { value: await attempt(provider, targeted, slot, target), slot };
          },
          this.#retry.get(target.provider) ?? DEFAULT_RETRY,
          { signal: request.signal, random: this.#random, onRetry: () => retries++ },
        );
        this.#record(attempts, { provider: target.provider, model: target.model, retries });
        return { value, target, slot, attempts };
      } catch (error) {
        const failure = mapErrorForRouter(error, target.provider);
        lastError = failure;
        this.#record(attempts, {
          provider: target.provider,
          model: target.model,
          error: failure.code,
          retries,
        });
        if (!failure.fallback) throw failure;
      }
    }
    throw lastError;
  }

  async #targetRequest(
    request: TurnRequest,
    target: RouteTarget,
    index: number,
    options: RouteOptions,
  ): Promise<TurnRequest> {
    if (request.signal?.aborted) throw new CancelledError();
    const refit = index > 0 && options.refit;
    const input = refit ? await refit(request.input, target.model, target) : request.input;
    const limit = options.outputLimit?.(index > 0 ? target.model : request.model);
    return {
      ...request,
      model: target.model,
      input,
      ...(refit && request.input_origin ? { input_origin: refitOrigin(request, input) } : {}),
      ...(limit === undefined ? {} : { output_limit: limit }),
    };
  }

  #provider(target: RouteTarget): Provider {
    const provider = this.#providers.get(target.provider);
    if (!provider) {
      throw new InvalidArgumentError(`Route target names unknown provider '${target.provider}'.`, {
        param: "provider",
      });
    }
    return provider;
  }

  #record(attempts: AttemptRecord[], record: AttemptRecord): void {
    attempts.push(record);
    this.emit("attempt", record);
  }
}

/**
 * `input_origin` for the items a refit kept. A refit keeps (a subset of) the same item objects,
 * so each is found by identity; an item it made anew counts as history (a note, never a refusal
 * pointing at the wrong place).
 */
function refitOrigin(request: TurnRequest, kept: readonly InputItem[]): (number | null)[] {
  const origin = new Map(request.input.map((item, i) => [item, request.input_origin?.[i] ?? null]));
  return kept.map((item) => origin.get(item) ?? null);
}

/** The error of a call cut by its caller after its request reached `target` (`sentTo`). */
function cancelledAt(target: RouteTarget, cause: unknown): CancelledError {
  return new CancelledError(undefined, {
    provider: target.provider,
    cause,
    sentTo: { provider: target.provider, model: target.model },
  });
}

function openCircuit(target: RouteTarget): CircuitOpenError {
  return new CircuitOpenError(
    `The circuit breaker of ${target.provider} is open; the request was not sent.`,
    {
      provider: target.provider,
    },
  );
}

function weightedShuffle(group: RouteTarget[], random: () => number): RouteTarget[] {
  const pool = [...group];
  const order: RouteTarget[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, target) => sum + Math.max(0, target.weight ?? 0), 0);
    let pick = random() * total;
    let index = pool.length - 1;
    for (const [i, target] of pool.entries()) {
      pick -= Math.max(0, target.weight ?? 0);
      if (pick < 0) {
        index = i;
        break;
      }
    }
    order.push(...pool.splice(index, 1));
  }
  return order;
}

/** Creates a router over named providers. */
export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}

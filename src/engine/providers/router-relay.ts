/**
 * The router's per-attempt breaker bookkeeping and its stream relay: a stream's events pass
 * through `relay`, which reports the stream's outcome to the target's circuit breaker (success at
 * `done`, failure or cancel otherwise) and turns a failure after the first event into a terminal
 * `error` event carrying the partial output.
 */
import type { BreakerTicket, CircuitBreaker } from "./circuit-breaker.ts";
import { isProviderError, mapErrorForRouter } from "./errors.ts";
import { StreamTracker } from "./output.ts";
import type { RouteTarget } from "./router.ts";
import type { TurnEvent } from "./types.ts";

/** A breaker and the ticket of one acquire: outcomes are reported with the ticket they belong to. */
export interface BreakerSlot {
  breaker: CircuitBreaker;
  ticket: BreakerTicket;
}

export interface RelayState {
  started: boolean;
  settled: boolean;
}

export async function* relay(
  iterator: AsyncIterator<TurnEvent>,
  first: TurnEvent,
  slot: BreakerSlot,
  target: RouteTarget,
  state: RelayState,
): AsyncGenerator<TurnEvent> {
  if (state.started) return; // cancelled before the first read
  state.started = true;
  const tracker = new StreamTracker();
  try {
    let event = first;
    for (;;) {
      tracker.push(event);
      yield event;
      if (event.type === "done") {
        state.settled = true;
        slot.breaker.onSuccess(slot.ticket);
        return;
      }
      const next = await iterator.next();
      if (next.done) throw new Error(`${target.provider} ended its stream without a result.`);
      event = next.value;
    }
  } catch (error) {
    state.settled = true;
    judge(slot, error);
    yield {
      type: "error",
      error: mapErrorForRouter(error, target.provider),
      partial: tracker.partial(target.model),
    };
  } finally {
    // The consumer stopped early: cancel the upstream request and free the breaker slot.
    if (!state.settled) slot.breaker.onCancel(slot.ticket);
    await iterator.return?.().catch(() => {});
  }
}

export function judge(slot: BreakerSlot, error: unknown): void {
  if (isProviderError(error) && error.code === "circuit_open") return;
  if (isProviderError(error) && error.fault === "caller") slot.breaker.onCancel(slot.ticket);
  else slot.breaker.onFailure(slot.ticket);
}

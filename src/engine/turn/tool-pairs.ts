/**
 * Checks, before a turn writes anything, that its tool items pair up as providers require: a
 * function_call in the input is answered later in the input, and a function_call_output answers
 * a call earlier in the input or stored in the turn's history and not answered yet. Unpaired
 * items would otherwise be stored by the write-ahead append, and every later window would have
 * to leave them out (a `400` on each turn of the conversation).
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import type { JsonObject, SessionStore } from "../../store/types.ts";
import { isCallItem, isOutputItem } from "../../store/window-pairs.ts";
import { callIdOf } from "../context/items.ts";

/** An output of the input whose call is not in the input: it must be stored before it. */
export interface UnmatchedOutput {
  index: number;
  callId: string;
}

const PAGE = 32;
/**
 * How far back a stored call is looked for. A call further back than this is not judged here
 * (the window decides), so a long history costs a bad request at most this many items.
 */
const MAX_SCAN = 2_000;

function rejectOutput(index: number, callId: string, why: string): never {
  throw new InvalidArgumentError(`input[${index}] answers call_id '${callId.slice(0, 80)}', ${why}`, {
    param: `input[${index}].call_id`,
  });
}

/**
 * Pairs the input's own calls and outputs; throws for a call without an output after it, or a
 * call answered twice. Returns the outputs whose calls must come from the stored history.
 */
export function unmatchedOutputs(input: readonly { content: JsonObject }[]): UnmatchedOutput[] {
  const pending = new Map<string, number>();
  const answered = new Set<string>();
  const unmatched: UnmatchedOutput[] = [];
  input.forEach((entry, index) => {
    const type = String(entry.content.type);
    const callId = callIdOf(entry);
    if (callId === null) return;
    if (isCallItem(type)) {
      if (pending.has(callId) || answered.has(callId)) {
        throw new InvalidArgumentError(`input[${index}] reuses call_id '${callId.slice(0, 80)}'.`, {
          param: `input[${index}].call_id`,
        });
      }
      pending.set(callId, index);
    } else if (isOutputItem(type)) {
      if (pending.delete(callId)) answered.add(callId);
      else if (answered.has(callId) || unmatched.some((u) => u.callId === callId)) {
        rejectOutput(index, callId, "which an earlier item of input already answers.");
      } else unmatched.push({ index, callId });
    }
  });
  for (const [callId, index] of pending) {
    throw new InvalidArgumentError(
      `input[${index}] is a function_call (call_id '${callId.slice(0, 80)}') without its function_call_output after it in input; send each call together with its output.`,
      { param: `input[${index}].call_id` },
    );
  }
  return unmatched;
}

/** For a turn without stored history: an output whose call is not in the input answers nothing. */
export function rejectWithoutHistory(unmatched: readonly UnmatchedOutput[]): void {
  const first = unmatched[0];
  if (first) {
    rejectOutput(
      first.index,
      first.callId,
      "but input holds no function_call with that call_id and the turn has no history: give the conversation or previous_response_id whose response made the call.",
    );
  }
}

/**
 * Looks for the calls of `unmatched` in the session, newest first (up to `untilSeq` when given):
 * each must be found before any output answering it. With `retry` (an idempotency key) an output
 * found first may be this very turn's input, written by an earlier attempt: only the call counts.
 */
export async function checkStoredCalls(
  store: SessionStore,
  tenant: string,
  sessionId: string,
  unmatched: readonly UnmatchedOutput[],
  options: { untilSeq?: number; retry?: boolean } = {},
): Promise<void> {
  if (unmatched.length === 0) return;
  const waiting = new Map(unmatched.map((u) => [u.callId, u.index]));
  let beforeSeq = options.untilSeq === undefined ? undefined : options.untilSeq + 1;
  for (let scanned = 0; waiting.size > 0; ) {
    if (scanned >= MAX_SCAN) return;
    const page = await store.readItems(tenant, sessionId, { order: "desc", limit: PAGE, beforeSeq });
    for (const item of page) {
      const callId = callIdOf(item);
      const index = callId === null ? undefined : waiting.get(callId);
      if (index === undefined || callId === null) continue;
      if (isCallItem(item.type)) waiting.delete(callId);
      else if (isOutputItem(item.type) && !options.retry) {
        rejectOutput(index, callId, "which already has a function_call_output in the conversation.");
      }
    }
    scanned += page.length;
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) break;
    beforeSeq = last.seq;
  }
  const [callId, index] = waiting.entries().next().value ?? [];
  if (callId !== undefined && index !== undefined) {
    rejectOutput(
      index,
      callId,
      "but no function_call with that call_id is in the conversation: send outputs only for the calls a response made.",
    );
  }
}

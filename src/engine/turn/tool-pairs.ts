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

/**
 * What is wrong with a tool pair. The message is worded in Responses terms (`input[i]`,
 * `call_id`); a route whose request had other words (Chat Completions' messages and
 * `tool_call_id`) rewords it from these facts rather than from the message.
 */
export const TOOL_PAIR_PROBLEMS = [
  /** A call reuses the call_id of an earlier call of the list. */
  "call_id_reused",
  /** An output answers a call an earlier output of the list already answers. */
  "answered_in_list",
  /** An output answers no call of the list, and there is no history to find it in. */
  "no_call_without_history",
  /** A call of the list has no output after it. */
  "call_unanswered",
  /** An output answers a stored call that already has a stored output. */
  "answered_in_history",
  /** An output answers no call of the list nor of the stored history. */
  "no_call_in_history",
] as const;
export type ToolPairProblem = (typeof TOOL_PAIR_PROBLEMS)[number];

/** A tool call or output that does not pair up: `list[index]`, whose call_id is `callId`. */
export class ToolPairError extends InvalidArgumentError {
  readonly problem: ToolPairProblem;
  /** The list the item is in, as the request named it (`input`, `items`). */
  readonly list: string;
  readonly index: number;
  readonly callId: string;

  constructor(message: string, problem: ToolPairProblem, list: string, index: number, callId: string) {
    super(message, { param: `${list}[${index}].call_id` });
    this.problem = problem;
    this.list = list;
    this.index = index;
    this.callId = callId;
  }
}

/** An output of the input whose call is not in the input: it must be stored before it. */
export interface UnmatchedOutput {
  index: number;
  callId: string;
}

export interface PairOptions {
  /** The list the items came from, as errors name it: `input` (a turn, the default) or `items`. */
  list?: string;
  /**
   * Whether a call may come without its output. An item create (`…/items`) may store a call the
   * client answers later, as OpenAI allows; a turn's input may not (the model would see no result).
   */
  openCalls?: boolean;
}

const PAGE = 32;
/**
 * How far back a stored call is looked for. A call further back than this is not judged here
 * (the window decides), so a long history costs a bad request at most this many items.
 */
const MAX_SCAN = 2_000;

function rejectOutput(
  problem: ToolPairProblem,
  list: string,
  index: number,
  callId: string,
  why: string,
): never {
  const message = `${list}[${index}] answers call_id '${callId.slice(0, 80)}', ${why}`;
  throw new ToolPairError(message, problem, list, index, callId);
}

/**
 * Pairs the input's own calls and outputs; throws for a call without an output after it, or a
 * call answered twice. Returns the outputs whose calls must come from the stored history.
 */
export function unmatchedOutputs(
  input: readonly { content: JsonObject }[],
  options: PairOptions = {},
): UnmatchedOutput[] {
  const list = options.list ?? "input";
  const pending = new Map<string, number>();
  const answered = new Set<string>();
  const unmatched: UnmatchedOutput[] = [];
  input.forEach((entry, index) => {
    const type = String(entry.content.type);
    const callId = callIdOf(entry);
    if (callId === null) return;
    if (isCallItem(type)) {
      if (pending.has(callId) || answered.has(callId)) {
        const message = `${list}[${index}] reuses call_id '${callId.slice(0, 80)}'.`;
        throw new ToolPairError(message, "call_id_reused", list, index, callId);
      }
      pending.set(callId, index);
    } else if (isOutputItem(type)) {
      if (pending.delete(callId)) answered.add(callId);
      else if (answered.has(callId) || unmatched.some((u) => u.callId === callId)) {
        rejectOutput(
          "answered_in_list",
          list,
          index,
          callId,
          `which an earlier item of ${list} already answers.`,
        );
      } else unmatched.push({ index, callId });
    }
  });
  for (const [callId, index] of options.openCalls ? [] : pending) {
    throw new ToolPairError(
      `${list}[${index}] is a function_call (call_id '${callId.slice(0, 80)}') without its function_call_output after it in ${list}; send each call together with its output.`,
      "call_unanswered",
      list,
      index,
      callId,
    );
  }
  return unmatched;
}

const TURN_HINT =
  "and the turn has no history: give the conversation or previous_response_id whose response made the call.";

/**
 * For items without stored history (a turn starting a conversation, a conversation created with
 * items): an output whose call is not in the list answers nothing. `hint` says what to do instead.
 */
export function rejectWithoutHistory(
  unmatched: readonly UnmatchedOutput[],
  options: { list?: string; hint?: string } = {},
): void {
  const first = unmatched[0];
  const list = options.list ?? "input";
  if (first) {
    rejectOutput(
      "no_call_without_history",
      list,
      first.index,
      first.callId,
      `but ${list} holds no function_call with that call_id before it ${options.hint ?? TURN_HINT}`,
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
  options: { untilSeq?: number; retry?: boolean; list?: string } = {},
): Promise<void> {
  if (unmatched.length === 0) return;
  const list = options.list ?? "input";
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
        rejectOutput(
          "answered_in_history",
          list,
          index,
          callId,
          "which already has a function_call_output in the conversation.",
        );
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
      "no_call_in_history",
      list,
      index,
      callId,
      "but no function_call with that call_id is in the conversation: send outputs only for the calls a response made.",
    );
  }
}

/**
 * Keeps a window from splitting a function call from its output. Outputs always follow their
 * calls, so the only way a suffix window can break a pair is by starting after a call whose
 * output is inside: such an output is an orphan, and providers reject it (HTTP 400). We move
 * the start past the last orphan; everything after it is whole. The budget is a hard limit, so
 * we never extend the window backwards to fetch the call.
 */

interface Pairable {
  type: string;
  callId?: string | null;
  content?: { call_id?: unknown };
}

const OUTPUT_TYPES = new Set(["function_call_output", "custom_tool_call_output", "computer_call_output"]);
const CALL_TYPES = new Set(["function_call", "custom_tool_call", "computer_call"]);

function callIdOf(item: Pairable): string | null {
  if (item.callId !== undefined) return item.callId;
  const id = item.content?.call_id;
  return typeof id === "string" ? id : null;
}

export function isCallItem(type: string): boolean {
  return CALL_TYPES.has(type);
}

export function isOutputItem(type: string): boolean {
  return OUTPUT_TYPES.has(type);
}

/**
 * Index of the first item of the longest suffix of `items` that holds no orphan output; with
 * `from`, of `items` from that index on (the answer is an index of `items`, at least `from`).
 */
export function pairSafeStart(items: readonly Pairable[], from = 0): number {
  const seenCalls = new Set<string>();
  let start = from;
  for (let i = from; i < items.length; i++) {
    const item = items[i]!;
    const callId = callIdOf(item);
    if (CALL_TYPES.has(item.type)) {
      if (callId !== null) seenCalls.add(callId);
    } else if (OUTPUT_TYPES.has(item.type) && (callId === null || !seenCalls.has(callId))) {
      start = i + 1;
      // Calls seen before the orphan are outside the window now; their outputs would be orphans too.
      seenCalls.clear();
    }
  }
  return start;
}

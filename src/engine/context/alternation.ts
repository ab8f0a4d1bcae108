/**
 * Anthropic-style alternation for a built window: tool results right after their calls, and a
 * user turn first. Windows never reorder, so the fix is to leave out messages sitting between a
 * call and its output and, when needed, open with a short synthetic user message. That message
 * says what happened: earlier items left out to fit, or none (the history itself starts with
 * the assistant, as a stateless request may), where claiming an omission would be false.
 */
import type { Item } from "../../store/types.ts";
import { callIdOf, isCall, isOutput, isUserMessage, PINNED_ROLES, roleOf } from "./items.ts";
import { SUMMARY_TYPE } from "./summary.ts";

/** Tokens of the synthetic opening user message inserted when alternation requires one. */
export const OMITTED_TOKENS = 16;
/** Id of that synthetic message (it is not stored). */
export const OMITTED_ITEM_ID = "holdfast_omitted";

/** The opener's text when the window left earlier items out to fit. */
export const OMITTED_TEXT = "[holdfast: earlier conversation omitted to fit the context window]";
/** The opener's text when nothing was left out: the history starts with a non-user item. */
export const START_TEXT = "[holdfast: start of the conversation]";

function omittedMessage(text: string): Item {
  return {
    seq: 0,
    id: OMITTED_ITEM_ID,
    type: "message",
    role: "user",
    status: null,
    content: {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text }],
    },
    tokens: OMITTED_TOKENS,
    bytes: 0,
    turnId: null,
    createdAt: 0,
  };
}

/**
 * Anthropic shape: no message inside a call/output span; the first conversational turn is a user
 * one. `omittedEarlier`: the window left out items before its first one (picks the opener's text).
 */
export function enforceAlternation(
  items: Item[],
  omittedEarlier: boolean,
): {
  items: Item[];
  droppedTokens: number;
  dropped: number;
  inserted: boolean;
} {
  const out: Item[] = [];
  const open = new Set<string>();
  let droppedTokens = 0;
  let dropped = 0;
  for (const item of items) {
    const id = callIdOf(item);
    if (isCall(item) && id !== null) open.add(id);
    else if (isOutput(item) && id !== null) open.delete(id);
    else if (open.size > 0 && item.type !== "reasoning") {
      droppedTokens += item.tokens;
      dropped++;
      continue;
    }
    out.push(item);
  }
  const first = out.findIndex((item) => {
    const role = roleOf(item);
    return !(item.type === "message" && role !== null && PINNED_ROLES.has(role));
  });
  const opener = first >= 0 ? (out[first] as Item) : null;
  const inserted = opener !== null && !isUserMessage(opener) && opener.type !== SUMMARY_TYPE;
  if (inserted) out.splice(first, 0, omittedMessage(omittedEarlier ? OMITTED_TEXT : START_TEXT));
  return { items: out, droppedTokens, dropped, inserted };
}

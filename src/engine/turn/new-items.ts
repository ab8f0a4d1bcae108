/**
 * Items a client adds to a conversation (`POST …/items`, or `items` on create) are checked as a
 * turn's input is, before anything is written, so that what is stored is what a later turn can
 * send. One difference: a function_call may wait for its output (OpenAI's items API allows it;
 * until the output comes, a turn names the open call, or leaves it out with truncation "auto").
 */
import type { JsonObject, SessionStore } from "../../store/types.ts";
import { checkItems } from "./input.ts";
import { checkStoredCalls, rejectWithoutHistory, unmatchedOutputs } from "./tool-pairs.ts";

const LIST = "items";

/**
 * Throws an InvalidArgumentError naming `items[i]…` for an item a turn's input would refuse, or
 * for a function_call_output that answers no call before it (in `items` or, with `sessionId`,
 * in the conversation) or a call already answered. `retry`: the request carries an idempotency
 * key, so an output found stored may be this very request's, written by an earlier attempt.
 */
export async function checkNewItems(
  store: SessionStore,
  tenant: string,
  sessionId: string | null,
  items: readonly JsonObject[],
  options: { retry?: boolean } = {},
): Promise<void> {
  checkItems(items, LIST);
  const unmatched = unmatchedOutputs(
    items.map((content) => ({ content })),
    { list: LIST, openCalls: true },
  );
  if (sessionId === null) {
    rejectWithoutHistory(unmatched, { list: LIST, hint: "in a new conversation: add the call first." });
  } else {
    await checkStoredCalls(store, tenant, sessionId, unmatched, { list: LIST, retry: options.retry });
  }
}

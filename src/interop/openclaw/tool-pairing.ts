/**
 * Keeps the tool items of a converted path paired the way the gateway needs them. The turn
 * engine refuses a conversation whose window leaves out a call without its output (every turn
 * answers 400), and the store's window starts after an output without its call (everything
 * before it is never sent again). OpenClaw transcripts hold both: a crash mid-tool leaves a call
 * unanswered, a retry re-parents a result onto a branch without its call.
 */
import type { ItemInput, JsonObject, JsonValue } from "../../store/types.ts";

/** What pi-ai sends the model for a tool call the transcript never answered. */
export const NO_RESULT_TEXT = "No result provided";

/** A result whose call is not on the path, kept as a user message so its text is not lost. */
function orphanMessage(output: JsonObject): JsonObject {
  const note = `[tool result for call_id '${String(output.call_id)}', whose call is not in this conversation]`;
  const parts: JsonValue[] =
    typeof output.output === "string"
      ? [{ type: "input_text", text: `${note}\n${output.output}` }]
      : [{ type: "input_text", text: note }, ...(Array.isArray(output.output) ? output.output : [])];
  return { type: "message", role: "user", content: parts };
}

export class ToolPairing {
  /** call_id → id of the call's item, for calls not answered yet. */
  readonly #open = new Map<string, string>();
  /** Orphan results turned into messages, held until no call is open (nothing may split a call from its output). */
  readonly #held: ItemInput[] = [];

  /**
   * The body to store for `body` (item `id`): a call is noted as open, an output answering an
   * open call closes it, any other output becomes a user message that `hold` must keep back.
   */
  place(body: JsonObject, id: string): { body: JsonObject; hold: boolean } {
    if (body.type === "function_call") this.#open.set(String(body.call_id), id);
    if (body.type !== "function_call_output" || this.#open.delete(String(body.call_id))) {
      return { body, hold: false };
    }
    return { body: orphanMessage(body), hold: this.#open.size > 0 };
  }

  hold(item: ItemInput): void {
    this.#held.push(item);
  }

  /**
   * Before an entry that is not a tool result: as pi-ai does before sending, a call the
   * conversation moved on from gets a "No result provided" output. A call that ends the
   * transcript is not settled: its result may come with a later import, or the next turn.
   */
  settle(out: ItemInput[]): void {
    for (const [callId, callItemId] of this.#open) {
      out.push({
        id: `${callItemId}_noresult`,
        content: { type: "function_call_output", call_id: callId, output: NO_RESULT_TEXT },
      });
    }
    this.#open.clear();
    this.release(out);
  }

  /** Appends the held messages once no call is open (or at the end of the path, `force`). */
  release(out: ItemInput[], force = false): void {
    if (this.#held.length === 0 || (this.#open.size > 0 && !force)) return;
    out.push(...this.#held);
    this.#held.length = 0;
  }
}

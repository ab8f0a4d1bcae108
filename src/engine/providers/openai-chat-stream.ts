/**
 * Chat Completions stream chunks → neutral turn events: reasoning, text, refusal and tool call
 * deltas folded into output items, with the quirks of OpenAI-compatible servers handled.
 */

import {
  type ChatReasoning,
  type ChatUsage,
  finishFromChat,
  reasoningOf,
  usageFromChat,
} from "./openai-chat-translate.ts";
import { closingEvents, OutputBuilder, reportedTier, ZERO_USAGE } from "./output.ts";
import type { FinishReason, TurnEvent, Usage } from "./types.ts";

interface ChatChunk {
  id?: string;
  model?: string;
  service_tier?: unknown;
  choices?: Array<{
    delta?: ChatReasoning & {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
  }>;
  usage?: ChatUsage | null;
}

/** Folds Chat Completions stream chunks into neutral events. */
export class ChatStreamTranslator {
  #builder = new OutputBuilder();
  #messageIndex: number | undefined;
  /** The output index of the reasoning item being streamed, until the answer after it starts. */
  #reasoningIndex: number | undefined;
  /** upstream tool_call key (see `#callKey`) → output index */
  #calls = new Map<string, number>();
  /** The key of the call opened last: where a delta with neither index nor id belongs. */
  #lastCall: string | undefined;
  /**
   * Calls opened but not yet announced (`item_added`), in index order. Some servers send a call's
   * name in later deltas than its id; clients (the Agents SDK) read the name from
   * `response.output_item.added`, so the event waits for the call's first arguments, the next
   * item or the end, by when the name has arrived.
   */
  #unannounced: number[] = [];
  #finish: FinishReason = "stop";
  #usage: Usage = { ...ZERO_USAGE };
  #id = "";
  #model: string;
  /** The tier the chunks report (OpenAI repeats it in every chunk). */
  #tier: string | undefined;
  readonly #toolNames: readonly string[];

  /** `toolNames`: the tools the request declared, which tell a name's next piece from a repeat of it. */
  constructor(model: string, toolNames: readonly string[] = []) {
    this.#model = model;
    this.#toolNames = toolNames;
  }

  push(chunk: ChatChunk): TurnEvent[] {
    const events: TurnEvent[] = [];
    if (chunk.id) this.#id = chunk.id;
    if (chunk.model) this.#model = chunk.model;
    if (chunk.usage) this.#usage = usageFromChat(chunk.usage);
    this.#tier = reportedTier(chunk.service_tier) ?? this.#tier;
    const choice = chunk.choices?.[0];
    if (!choice) return events;
    const reasoning = reasoningOf(choice.delta);
    if (reasoning !== "") events.push(this.#builder.appendReasoning(this.#reasoning(events), reasoning));
    const text = choice.delta?.content;
    if (text) events.push(this.#builder.appendText(this.#message(events), text));
    const refusal = choice.delta?.refusal;
    if (refusal) events.push(this.#builder.appendRefusal(this.#message(events), refusal));
    for (const delta of choice.delta?.tool_calls ?? []) {
      const key = this.#callKey(delta);
      let index = this.#calls.get(key);
      if (index === undefined) {
        // The text message (if any) stays open until the finish reason: `length` or
        // `content_filter` make it `incomplete`, and its `item_done` must say so.
        this.#closeReasoning(events);
        this.#announce(events);
        const callId = delta.id ?? `call_${this.#calls.size}`;
        index = this.#builder.openCall(callId, delta.function?.name ?? "");
        this.#calls.set(key, index);
        this.#lastCall = key;
        this.#unannounced.push(index);
      } else if (delta.function?.name) {
        const name = this.#builder.callName(index);
        this.#builder.setCallName(index, joinCallName(name, delta.function.name, this.#toolNames));
      }
      if (delta.function?.arguments) {
        this.#announce(events);
        events.push(this.#builder.appendArgs(index, delta.function.arguments));
      }
    }
    if (choice.finish_reason) this.#finish = finishFromChat(choice.finish_reason);
    return events;
  }

  /** The output index of the reply's message, opened (and announced in `events`) at its first delta. */
  #message(events: TurnEvent[]): number {
    if (this.#messageIndex === undefined) {
      this.#closeReasoning(events);
      this.#announce(events);
      const [index, added] = this.#builder.addMessage();
      this.#messageIndex = index;
      events.push(added);
    }
    return this.#messageIndex;
  }

  /** The output index of the reasoning item being streamed, opened (and announced) at its first delta. */
  #reasoning(events: TurnEvent[]): number {
    if (this.#reasoningIndex === undefined) {
      this.#announce(events);
      const [index, added] = this.#builder.addReasoning();
      this.#reasoningIndex = index;
      events.push(added);
    }
    return this.#reasoningIndex;
  }

  /**
   * Ends the reasoning item as the answer starts: Responses clients read a reasoning item as done
   * before the next item is added. Reasoning that comes back later opens an item of its own.
   */
  #closeReasoning(events: TurnEvent[]): void {
    if (this.#reasoningIndex === undefined) return;
    events.push(...this.#builder.finish(this.#reasoningIndex));
    this.#reasoningIndex = undefined;
  }

  /**
   * Which call a delta belongs to. OpenAI numbers every delta with `index`; some compatible
   * servers (Gemini's endpoint, Ollama versions) leave it out, and reading a missing index as 0
   * merged their parallel calls into one (names and arguments concatenated). Without an index, a
   * new `id` opens a new call and a delta with neither continues the call opened last.
   */
  #callKey(delta: { index?: number; id?: string }): string {
    if (typeof delta.index === "number") return `index:${delta.index}`;
    if (delta.id) return `id:${delta.id}`;
    return this.#lastCall ?? "index:0";
  }

  /** Closing events once the upstream sent `[DONE]` (or ended). */
  end(): TurnEvent[] {
    const events: TurnEvent[] = [];
    this.#announce(events);
    events.push(...closingEvents(this.#builder, this.#id, this.#model, this.#usage, this.#finish));
    const done = events.at(-1);
    if (done?.type === "done" && this.#tier !== undefined) done.result.service_tier = this.#tier;
    return events;
  }

  /** Pushes the `item_added` events of the calls still unannounced, in index order. */
  #announce(events: TurnEvent[]): void {
    for (const index of this.#unannounced) events.push(this.#builder.announce(index));
    this.#unannounced = [];
  }
}

/**
 * A call's name after one more delta. OpenAI sends the name once, but some OpenAI-compatible
 * servers (vLLM, Ollama versions) repeat the whole name in every chunk: a piece the name already
 * ends with is such a repeat ("get_weather" + "get_weather" stays "get_weather"), unless the
 * joined name starts a declared tool's name (a real split such as "ab" + "b" of "abb").
 */
export function joinCallName(name: string, piece: string, toolNames: readonly string[]): string {
  const joined = name + piece;
  if (!name.endsWith(piece)) return joined;
  return toolNames.some((tool) => tool.startsWith(joined)) ? joined : name;
}

/**
 * Builds output items and neutral stream events incrementally. The Chat Completions, Anthropic and
 * mock adapters all produce text and function calls piece by piece; this keeps output indexes,
 * item ids and the final items consistent between the streamed events and the result.
 */
import { newItemId } from "../../store/ids.ts";
import { ReasoningParts } from "./reasoning-parts.ts";
import type { ContentPart, FinishReason, OutputItem, TurnEvent, TurnResult, Usage } from "./types.ts";

interface MessageSlot {
  kind: "message";
  id: string;
  /** Text and refusal, as streamed: consecutive deltas of one kind make one part. */
  parts: StreamedPart[];
  done: boolean;
}
interface CallSlot {
  kind: "call";
  id: string;
  callId: string;
  name: string;
  args: string;
  done: boolean;
}
/** The model's reasoning as text (Chat Completions `reasoning_content`): one `reasoning_text` part. */
interface ReasoningSlot {
  kind: "reasoning";
  id: string;
  text: string;
  done: boolean;
}
type Slot = MessageSlot | CallSlot | ReasoningSlot;

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  input_tokens: 0,
  output_tokens: 0,
  cached_tokens: 0,
});

export class OutputBuilder {
  #slots: Slot[] = [];

  get size(): number {
    return this.#slots.length;
  }

  /** Opens an assistant message; returns its output index and the `item_added` event. */
  addMessage(): [number, TurnEvent] {
    const slot: MessageSlot = { kind: "message", id: newItemId("message"), parts: [], done: false };
    const index = this.#slots.push(slot) - 1;
    return [index, { type: "item_added", output_index: index, item: toItem(slot, "in_progress") }];
  }

  appendText(index: number, delta: string): TurnEvent {
    const slot = this.#slot(index, "message");
    appendDelta(slot.parts, "output_text", delta);
    return { type: "text_delta", output_index: index, item_id: slot.id, delta };
  }

  /** A piece of the model's refusal (Chat Completions `refusal`): a `refusal` part of the message. */
  appendRefusal(index: number, delta: string): TurnEvent {
    const slot = this.#slot(index, "message");
    appendDelta(slot.parts, "refusal", delta);
    return { type: "refusal_delta", output_index: index, item_id: slot.id, delta };
  }

  /** Opens a reasoning item (its text comes with `appendReasoning`); returns its index and `item_added`. */
  addReasoning(): [number, TurnEvent] {
    const slot: ReasoningSlot = { kind: "reasoning", id: newItemId("reasoning"), text: "", done: false };
    const index = this.#slots.push(slot) - 1;
    return [index, { type: "item_added", output_index: index, item: toItem(slot, "in_progress") }];
  }

  appendReasoning(index: number, delta: string): TurnEvent {
    const slot = this.#slot(index, "reasoning");
    slot.text += delta;
    return { type: "reasoning_delta", output_index: index, item_id: slot.id, delta };
  }

  /** Opens a function call; returns its output index and the `item_added` event. */
  addCall(callId: string, name: string): [number, TurnEvent] {
    const index = this.openCall(callId, name);
    return [index, this.announce(index)];
  }

  /**
   * Opens a function call without its `item_added` event, for an upstream that may name the call
   * after opening it: `announce` gives the event once the name is known.
   */
  openCall(callId: string, name: string): number {
    const slot: CallSlot = {
      kind: "call",
      id: newItemId("function_call"),
      callId,
      name,
      args: "",
      done: false,
    };
    return this.#slots.push(slot) - 1;
  }

  /** The `item_added` event of a slot as it stands (in progress, with the name known so far). */
  announce(index: number): TurnEvent {
    const slot = this.#slots[index];
    if (!slot) throw new Error(`Output slot ${index} does not exist.`);
    return { type: "item_added", output_index: index, item: toItem(slot, "in_progress") };
  }

  appendArgs(index: number, delta: string): TurnEvent {
    const slot = this.#slot(index, "call");
    slot.args += delta;
    return {
      type: "function_call_arguments_delta",
      output_index: index,
      item_id: slot.id,
      call_id: slot.callId,
      delta,
    };
  }

  /** A call's name so far. */
  callName(index: number): string {
    return this.#slot(index, "call").name;
  }

  /** Sets a call's name when it arrives after the call was opened (Chat Completions deltas). */
  setCallName(index: number, name: string): void {
    this.#slot(index, "call").name = name;
  }

  /** `item_done` for one slot (once). */
  finish(index: number, status: "completed" | "incomplete" = "completed"): TurnEvent[] {
    const slot = this.#slots[index];
    if (!slot || slot.done) return [];
    slot.done = true;
    return [{ type: "item_done", output_index: index, item: toItem(slot, status) }];
  }

  /** `item_done` for every slot still open, in index order. */
  finishAll(status: "completed" | "incomplete" = "completed"): TurnEvent[] {
    return this.#slots.flatMap((_, index) => this.finish(index, status));
  }

  output(status: "completed" | "incomplete" = "completed"): OutputItem[] {
    return this.#slots.map((slot) => toItem(slot, status));
  }

  #slot<K extends Slot["kind"]>(index: number, kind: K): Extract<Slot, { kind: K }> {
    const slot = this.#slots[index];
    if (!slot || slot.kind !== kind) throw new Error(`Output slot ${index} is not a ${kind}.`);
    return slot as Extract<Slot, { kind: K }>;
  }
}

function toItem(slot: Slot, status: "in_progress" | "completed" | "incomplete"): OutputItem {
  if (slot.kind === "reasoning")
    return reasoningItem(slot.id, status === "in_progress" ? null : slot.text, status);
  if (slot.kind === "message") {
    return {
      type: "message",
      id: slot.id,
      role: "assistant",
      status,
      content:
        status === "in_progress"
          ? []
          : slot.parts.length === 0
            ? [{ type: "output_text", text: "", annotations: [] }]
            : slot.parts.map(contentPart),
    };
  }
  return {
    type: "function_call",
    id: slot.id,
    call_id: slot.callId,
    name: slot.name,
    arguments: status === "in_progress" ? "" : slot.args,
    status,
  };
}

/**
 * A reasoning item in the Responses API's shape for readable reasoning (`content` of
 * `reasoning_text`, no summary); `text` null: the item as announced, before its text.
 */
export function reasoningItem(
  id: string,
  text: string | null,
  status: "in_progress" | "completed" | "incomplete",
): OutputItem {
  return {
    type: "reasoning",
    id,
    summary: [],
    content: text === null ? [] : [{ type: "reasoning_text", text }],
    status,
  };
}

/** The reason an unfinished answer gives its incomplete turn. */
const INCOMPLETE_REASONS: Partial<Record<FinishReason, NonNullable<TurnResult["incomplete_reason"]>>> = {
  length: "max_output_tokens",
  content_filter: "content_filter",
  paused: "paused",
};

/** The status a finish reason gives the turn and its items: `length`, `content_filter` and `paused` leave it `incomplete`. */
export function statusFromFinish(finish: FinishReason): "completed" | "incomplete" {
  return INCOMPLETE_REASONS[finish] === undefined ? "completed" : "incomplete";
}

/** Assembles a `TurnResult`; `length`, `content_filter` and `paused` make it `incomplete`. */
export function buildResult(
  id: string,
  model: string,
  output: OutputItem[],
  usage: Usage,
  finish: FinishReason,
): TurnResult {
  const result: TurnResult = {
    id,
    model,
    output,
    usage,
    status: statusFromFinish(finish),
    finish_reason: finish,
  };
  const reason = INCOMPLETE_REASONS[finish];
  if (reason !== undefined) result.incomplete_reason = reason;
  return result;
}

/**
 * The `service_tier` an OpenAI upstream reported, when it is one worth reporting on: a short
 * non-empty string (a tier name such as `default`, `flex`, `priority`); anything else is none.
 */
export function reportedTier(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= 64 ? value : undefined;
}

/** The last events of a translated stream: every open item finished, the usage, then `done` with the result. */
export function closingEvents(
  builder: OutputBuilder,
  id: string,
  model: string,
  usage: Usage,
  finish: FinishReason,
): TurnEvent[] {
  const status = statusFromFinish(finish);
  const result = buildResult(id, model, builder.output(status), usage, finish);
  return [...builder.finishAll(status), { type: "usage", usage }, { type: "done", result }];
}

/** Text of a message content (string or parts), parts joined without separator. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    const p = part as { text?: unknown; refusal?: unknown };
    if (typeof p.text === "string") text += p.text;
    else if (typeof p.refusal === "string") text += p.refusal;
  }
  return text;
}

/** A message's content as streamed so far: consecutive deltas of one kind make one part. */
export interface StreamedPart {
  type: "output_text" | "refusal";
  text: string;
}

/**
 * Adds a delta to a message's streamed parts: to the last part if it is of the same kind, else
 * to a new one (`opened`). Returns the part and its `content_index`.
 */
export function appendDelta(
  parts: StreamedPart[],
  type: StreamedPart["type"],
  delta: string,
): { part: StreamedPart; index: number; opened: boolean } {
  const last = parts.at(-1);
  if (last?.type === type) {
    last.text += delta;
    return { part: last, index: parts.length - 1, opened: false };
  }
  const part = { type, text: delta };
  return { part, index: parts.push(part) - 1, opened: true };
}

/** A streamed part as a message content part: `output_text` with its text, or `refusal`. */
export function contentPart(part: StreamedPart): ContentPart {
  return part.type === "refusal"
    ? { type: "refusal", refusal: part.text }
    : { type: "output_text", text: part.text, annotations: [] };
}

/**
 * Tracks a stream's events so the router can report a partial result (status `incomplete`,
 * reason `interrupted`) when the stream fails after events were delivered.
 */
export class StreamTracker {
  #items = new Map<number, OutputItem>();
  /** Arguments of open function calls, parts of open messages, per output index. */
  #args = new Map<number, string>();
  #parts = new Map<number, StreamedPart[]>();
  /** Summary and text parts of open reasoning items, per output index. */
  #reasoning = new Map<number, ReasoningParts>();
  #usage: Usage = { ...ZERO_USAGE };

  push(event: TurnEvent): void {
    switch (event.type) {
      case "item_added":
        this.#items.set(event.output_index, event.item);
        break;
      case "text_delta":
      case "refusal_delta": {
        const parts = this.#parts.get(event.output_index) ?? [];
        appendDelta(parts, event.type === "text_delta" ? "output_text" : "refusal", event.delta);
        this.#parts.set(event.output_index, parts);
        break;
      }
      case "reasoning_delta":
      case "reasoning_summary_delta": {
        let parts = this.#reasoning.get(event.output_index);
        if (parts === undefined) {
          parts = new ReasoningParts();
          this.#reasoning.set(event.output_index, parts);
        }
        parts.append(event);
        break;
      }
      case "function_call_arguments_delta":
        this.#args.set(event.output_index, (this.#args.get(event.output_index) ?? "") + event.delta);
        break;
      case "item_done":
        this.#items.set(event.output_index, event.item);
        this.#args.delete(event.output_index);
        this.#parts.delete(event.output_index);
        this.#reasoning.delete(event.output_index);
        break;
      case "usage":
        this.#usage = event.usage;
        break;
      default:
        break;
    }
  }

  partial(model: string): TurnResult {
    const indexes = [...this.#items.keys()].sort((a, b) => a - b);
    const output = indexes.map((index) => {
      const item = this.#items.get(index)!;
      const args = this.#args.get(index);
      if (item.type === "function_call" && args !== undefined) {
        return { ...item, arguments: args, status: "incomplete" };
      }
      const reasoning = this.#reasoning.get(index);
      // The item as announced (a Responses upstream's keeps its upstream id in its marker) with
      // the summary and text streamed so far.
      if (item.type === "reasoning" && reasoning !== undefined) {
        return { ...reasoning.fill(item), status: "incomplete" };
      }
      const parts = this.#parts.get(index);
      if (parts === undefined) return item;
      return { ...item, status: "incomplete", content: parts.map(contentPart) };
    }) as OutputItem[];
    return {
      id: "",
      model,
      output,
      usage: this.#usage,
      status: "incomplete",
      finish_reason: "error",
      incomplete_reason: "interrupted",
    };
  }
}

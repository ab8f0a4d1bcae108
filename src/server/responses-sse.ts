/**
 * Translates turn-engine events into the Responses API's typed server-sent events
 * (`response.created`, `response.output_text.delta`, …, `response.completed`), numbering them
 * with `sequence_number` as OpenAI does.
 */
import { withoutUpstreamId } from "../engine/context/items.ts";
import { appendDelta, contentPart, type StreamedPart } from "../engine/providers/output.ts";
import { type ReasoningDelta, ReasoningParts } from "../engine/providers/reasoning-parts.ts";
import type { EngineEvent } from "../engine/turn/turn-engine.ts";
import type { JsonObject } from "../store/types.ts";
import type { ErrorBody } from "./errors.ts";

export type SseWrite = (chunk: string) => void;

export class ResponsesSse {
  readonly #write: SseWrite;
  #sequence = 0;
  /**
   * Content parts of each open message, per output index, for the `.done` events. A part is
   * announced (`response.content_part.added`) with its first delta, when its kind is known: text,
   * or a refusal, which OpenAI streams as a part of its own (`response.refusal.delta`).
   */
  readonly #parts = new Map<number, StreamedPart[]>();
  /** Summary and text parts of each reasoning item streamed so far, per output index. */
  readonly #reasoning = new Map<number, ReasoningParts>();

  constructor(write: SseWrite) {
    this.#write = write;
  }

  #emit(type: string, payload: JsonObject): void {
    this.#emitJson(type, JSON.stringify(payload));
  }

  /**
   * One event from its payload already serialized (a non-empty JSON object). The text is what
   * `JSON.stringify({ type, sequence_number, ...payload })` gives, without copying the payload
   * into a new object first, and lets one serialization of a response serve several events.
   */
  #emitJson(type: string, payload: string): void {
    const head = `{"type":"${type}","sequence_number":${this.#sequence++},`;
    this.#write(`event: ${type}\ndata: ${head}${payload.slice(1)}\n\n`);
  }

  handle(event: EngineEvent): void {
    switch (event.type) {
      case "created": {
        // Both events carry the same response: serialize it once.
        const payload = `{"response":${JSON.stringify(event.response)}}`;
        this.#emitJson("response.created", payload);
        this.#emitJson("response.in_progress", payload);
        return;
      }
      case "completed": {
        const status = event.response.status;
        this.#emit(status === "incomplete" ? "response.incomplete" : "response.completed", {
          response: event.response,
        });
        return;
      }
      case "failed":
        // The stream ends as the response is stored. A turn that produced part of its answer is
        // kept as `incomplete` (interrupted, with the error): a `response.failed` would contradict
        // `GET /v1/responses/{id}`, and a `response.incomplete` would pass for an answer cut by
        // its token limit, so it ends with OpenAI's `error` event, which claims no status and
        // which SDKs raise. A turn that produced nothing is stored as `failed`, and says so.
        if (event.response.status !== "failed") {
          this.error({
            type: "server_error",
            code: event.error.code,
            message: event.error.message,
            param: null,
          });
          return;
        }
        this.#emit("response.failed", {
          response: { ...event.response, error: { code: event.error.code, message: event.error.message } },
        });
        return;
      case "provider":
        this.#provider(event.event);
        return;
    }
  }

  /**
   * OpenAI's `error` event: the stream failed after it opened with a failure of Holdfast's own
   * (its commit), not the upstream's. It ends the stream with the next `sequence_number`.
   */
  error(error: ErrorBody["error"]): void {
    this.#emit("error", { code: error.code, message: error.message, param: error.param });
  }

  #provider(event: Extract<EngineEvent, { type: "provider" }>["event"]): void {
    switch (event.type) {
      case "item_added": {
        const item = withoutUpstreamId(event.item as unknown as JsonObject);
        this.#emit("response.output_item.added", { output_index: event.output_index, item });
        if (item.type === "message") this.#parts.set(event.output_index, []);
        return;
      }
      case "text_delta":
      case "refusal_delta": {
        const refusal = event.type === "refusal_delta";
        const index = this.#open(
          event.output_index,
          event.item_id,
          refusal ? "refusal" : "output_text",
          event.delta,
        );
        const head = `{"item_id":${JSON.stringify(event.item_id)},"output_index":${JSON.stringify(event.output_index)},"content_index":${index},"delta":${JSON.stringify(event.delta)}`;
        // The most frequent event of a stream: its payload is written as text, not built as an object.
        if (refusal) this.#emitJson("response.refusal.delta", `${head}}`);
        else this.#emitJson("response.output_text.delta", `${head},"logprobs":[]}`);
        return;
      }
      case "reasoning_delta":
      case "reasoning_summary_delta":
        this.#reasoningDelta(event);
        return;
      case "function_call_arguments_delta":
        this.#emit("response.function_call_arguments.delta", {
          item_id: event.item_id,
          output_index: event.output_index,
          delta: event.delta,
        });
        return;
      case "item_done": {
        const item = withoutUpstreamId(event.item as unknown as JsonObject);
        if (item.type === "message") {
          const parts = this.#parts.get(event.output_index) ?? [];
          this.#parts.delete(event.output_index);
          // A message without any delta still has its (empty) text part, as OpenAI's do.
          if (parts.length === 0) this.#open(event.output_index, item.id as string, "output_text", "", parts);
          for (const [index, part] of parts.entries()) {
            const base = {
              item_id: item.id as string,
              output_index: event.output_index,
              content_index: index,
            };
            if (part.type === "refusal") this.#emit("response.refusal.done", { ...base, refusal: part.text });
            else this.#emit("response.output_text.done", { ...base, text: part.text, logprobs: [] });
            this.#emit("response.content_part.done", {
              ...base,
              part: contentPart(part) as unknown as JsonObject,
            });
          }
        } else if (item.type === "reasoning") {
          this.#reasoningDone(event.output_index, item);
        } else if (item.type === "function_call") {
          this.#emit("response.function_call_arguments.done", {
            item_id: item.id as string,
            output_index: event.output_index,
            arguments: item.arguments as string,
          });
        }
        this.#emit("response.output_item.done", { output_index: event.output_index, item });
        return;
      }
      default:
        return;
    }
  }

  /**
   * A piece of a reasoning item's summary or text, as OpenAI streams them: a part is announced
   * with its first delta (`reasoning_summary_part.added`, or `content_part.added` for a
   * `reasoning_text` part), and a new part closes the earlier ones of its kind, as OpenAI
   * finishes one summary part before it starts the next.
   */
  #reasoningDelta(event: ReasoningDelta): void {
    let parts = this.#reasoning.get(event.output_index);
    if (parts === undefined) {
      parts = new ReasoningParts();
      this.#reasoning.set(event.output_index, parts);
    }
    const { kind, index, opened } = parts.append(event);
    const base = { item_id: event.item_id, output_index: event.output_index };
    if (kind === "summary") {
      if (opened) {
        this.#closeReasoning(event.item_id, event.output_index, parts, index);
        this.#emit("response.reasoning_summary_part.added", {
          ...base,
          summary_index: index,
          part: { type: "summary_text", text: "" },
        });
      }
      this.#emit("response.reasoning_summary_text.delta", {
        ...base,
        summary_index: index,
        delta: event.delta,
      });
      return;
    }
    if (opened) {
      this.#closeReasoning(event.item_id, event.output_index, parts, undefined, index);
      this.#emit("response.content_part.added", {
        ...base,
        content_index: index,
        part: { type: "reasoning_text", text: "" },
      });
    }
    this.#emit("response.reasoning_text.delta", { ...base, content_index: index, delta: event.delta });
  }

  /** The `.done` events of a reasoning item's streamed parts still open (none when nothing streamed). */
  #reasoningDone(outputIndex: number, item: JsonObject): void {
    const parts = this.#reasoning.get(outputIndex);
    if (parts === undefined) return;
    this.#reasoning.delete(outputIndex);
    this.#closeReasoning(item.id as string, outputIndex, parts);
  }

  /** Closes the open summary parts before `summaryBefore` and text parts before `contentBefore` (all by default). */
  #closeReasoning(
    itemId: string,
    outputIndex: number,
    parts: ReasoningParts,
    summaryBefore = parts.summary.length,
    contentBefore = parts.content.length,
  ): void {
    const base = { item_id: itemId, output_index: outputIndex };
    for (const [index, part] of parts.summary.entries()) {
      if (part.done || index >= summaryBefore) continue;
      part.done = true;
      const at = { ...base, summary_index: index };
      this.#emit("response.reasoning_summary_text.done", { ...at, text: part.text });
      this.#emit("response.reasoning_summary_part.done", {
        ...at,
        part: { type: "summary_text", text: part.text },
      });
    }
    for (const [index, part] of parts.content.entries()) {
      if (part.done || index >= contentBefore) continue;
      part.done = true;
      const at = { ...base, content_index: index };
      this.#emit("response.reasoning_text.done", { ...at, text: part.text });
      this.#emit("response.content_part.done", { ...at, part: { type: "reasoning_text", text: part.text } });
    }
  }

  /**
   * Adds a delta to a message's parts, announcing the part it opens; returns its content index.
   * `parts` is given for a message whose parts were already taken out of the map.
   */
  #open(
    outputIndex: number,
    itemId: string,
    type: StreamedPart["type"],
    delta: string,
    parts: StreamedPart[] = this.#partsOf(outputIndex),
  ): number {
    const { index, opened } = appendDelta(parts, type, delta);
    if (opened) {
      this.#emit("response.content_part.added", {
        item_id: itemId,
        output_index: outputIndex,
        content_index: index,
        part: contentPart({ type, text: "" }) as unknown as JsonObject,
      });
    }
    return index;
  }

  #partsOf(outputIndex: number): StreamedPart[] {
    let parts = this.#parts.get(outputIndex);
    if (parts === undefined) {
      parts = [];
      this.#parts.set(outputIndex, parts);
    }
    return parts;
  }
}

/**
 * Translates turn-engine events into `chat.completion.chunk` server-sent events, the stream
 * shape of Chat Completions (`data: {…}` lines, then `data: [DONE]`).
 */
import { chatChunk, chatFinishReason, chatServiceTier, chatUsage } from "../engine/turn/chat-compat.ts";
import type { EngineEvent } from "../engine/turn/turn-engine.ts";
import type { JsonObject } from "../store/types.ts";
import type { ErrorBody } from "./errors.ts";

export class ChatSse {
  readonly #write: (chunk: string) => void;
  readonly #includeUsage: boolean;
  #id = "";
  #model = "";
  #created = 0;
  /**
   * The serialized chunk up to its `delta`: id, object, created, model and system fingerprint
   * are the same in every chunk of a stream, so each chunk serializes only its delta and finish
   * reason. The text is byte for byte what `JSON.stringify(chatChunk(…))` gives.
   */
  #head = "";
  /** Output index of each function call → its position in `tool_calls`. */
  readonly #callIndex = new Map<number, number>();
  /** Output index of each function call → the name its first chunk announced. */
  readonly #announced = new Map<number, string>();

  constructor(write: (chunk: string) => void, includeUsage: boolean) {
    this.#write = write;
    this.#includeUsage = includeUsage;
  }

  /** The serialized chunk head (see `#head`), with the upstream's `service_tier` once known. */
  #setHead(serviceTier?: string): void {
    const full = JSON.stringify(chatChunk(this.#id, this.#model, this.#created, {}, null, serviceTier));
    this.#head = `data: ${full.slice(0, full.lastIndexOf('"delta":') + '"delta":'.length)}`;
  }

  #send(delta: JsonObject, finish: string | null = null): void {
    const tail = finish === null ? "null" : JSON.stringify(finish);
    this.#write(`${this.#head}${JSON.stringify(delta)},"logprobs":null,"finish_reason":${tail}}]}\n\n`);
  }

  #data(payload: JsonObject): void {
    this.#write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** The stream failed after it opened: an error chunk, as OpenAI sends one mid-stream (the SDK throws it). */
  error(error: ErrorBody["error"]): void {
    this.#data({ error: { ...error } });
  }

  handle(event: EngineEvent): void {
    if (event.type === "created") {
      this.#id = `chatcmpl-${String(event.response.id).slice(5)}`;
      this.#model = String(event.response.model);
      this.#created = event.response.created_at as number;
      this.#setHead();
      this.#send({ role: "assistant", content: "" });
      return;
    }
    if (event.type === "completed" || event.type === "failed") {
      // OpenAI names the tier in every chunk; Holdfast knows the upstream's only now, so the
      // closing chunks carry it (and none do when the upstream reported none).
      const tier = chatServiceTier(event.response).service_tier;
      if (tier !== undefined) this.#setHead(tier);
      // A failed turn did not stop normally: no finish_reason, as OpenAI's failed streams carry
      // none; the error chunk ends it, after the usage (spent all the same), so the SDK, which
      // throws at the error, has read the usage first.
      if (event.type === "completed") this.#send({}, chatFinishReason(event.response));
      if (this.#includeUsage) {
        const usage = event.response.usage as JsonObject;
        this.#data({
          ...chatChunk(this.#id, this.#model, this.#created, {}, null, tier),
          choices: [],
          usage: chatUsage(usage),
        });
      }
      if (event.type === "failed") {
        this.error({
          type: "server_error",
          code: event.error.code,
          message: event.error.message,
          param: null,
        });
      }
      return;
    }
    const e = event.event;
    if (e.type === "text_delta") this.#send({ content: e.delta });
    // Chat Completions streams a refusal in its own delta field, as OpenAI does.
    else if (e.type === "refusal_delta") this.#send({ refusal: e.delta });
    // Reasoning as the OpenAI-compatible servers that stream it send it (vLLM, DeepSeek, Ollama…).
    else if (e.type === "reasoning_delta") this.#send({ reasoning_content: e.delta });
    else if (e.type === "item_added" && e.item.type === "function_call") {
      const index = this.#callIndex.size;
      this.#callIndex.set(e.output_index, index);
      const item = e.item as unknown as JsonObject;
      this.#announced.set(e.output_index, item.name as string);
      this.#send({
        tool_calls: [
          {
            index,
            id: item.call_id as string,
            type: "function",
            function: { name: item.name as string, arguments: "" },
          },
        ],
      });
    } else if (e.type === "function_call_arguments_delta") {
      const index = this.#callIndex.get(e.output_index) ?? 0;
      this.#send({ tool_calls: [{ index, function: { arguments: e.delta } }] });
    } else if (e.type === "item_done" && e.item.type === "function_call") {
      // An upstream that sends a call's name after opening it (some compatible servers do) left
      // the first chunk with part of the name or none: the rest follows, as chat clients join
      // name pieces the way they join arguments.
      const announced = this.#announced.get(e.output_index) ?? "";
      const name = (e.item as unknown as JsonObject).name as string;
      if (name !== announced && name.startsWith(announced)) {
        const index = this.#callIndex.get(e.output_index) ?? 0;
        this.#send({ tool_calls: [{ index, function: { name: name.slice(announced.length) } }] });
      }
    }
  }
}

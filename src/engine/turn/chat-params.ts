/**
 * Errors of a chat request named as the client sent it. The turn runs on the translated Responses
 * body, so what it refuses (a part an upstream cannot take, an item over the store's size limit)
 * names `input[i]…`; on the Chat route that is `messages[m]…`, the message the item came from.
 * Likewise a tool's `tools[i].name` is the chat tool's `tools[i].function.name`.
 */
import { type HoldfastError, isHoldfastError } from "../../store/errors.ts";
import { chatToolPairMessage } from "./chat-tool-pairs.ts";
import { ToolPairError } from "./tool-pairs.ts";

/** Where one translated input item came from in the chat request. */
export interface ChatSource {
  /** `messages[2]`, or `messages[1].tool_calls[0]` for a function call. */
  path: string;
  /** The item's fields by the chat field (under `path`) they came from. */
  fields: Readonly<Record<string, string>>;
  /** Whether part `j` of the item's `content` is part `j` of the message's content array. */
  partsKept: boolean;
}

const ITEM_PARAM = /^input\[(\d+)\](?:\.([a-z_]+)(.*))?$/;
/** A field of a tool as the turn names it (`tools[0].parameters.type`); its `type` is the chat tool's own. */
const TOOL_PARAM = /^(tools\[\d+\])\.((?!type$).+)$/;

/** `param` of the translated body (`input[3].content[1]`) as the chat request's (`messages[4].content[1]`). */
export function chatParam(param: string, sources: readonly ChatSource[]): string {
  if (param === "input") return "messages";
  const match = ITEM_PARAM.exec(param);
  const source = match ? sources[Number(match[1])] : undefined;
  if (!match || !source) return param;
  const [, , field, rest = ""] = match;
  if (field === undefined) return source.path;
  if (field === "content" && source.partsKept) return `${source.path}.content${rest}`;
  const mapped = source.fields[field];
  return mapped === undefined ? source.path : `${source.path}.${mapped}`;
}

/**
 * `error` with its `param` (and the same name in its message) translated by `chatParam`, a tool's
 * field as the field of its `function`, or `conversation` as the `Holdfast-Conversation` header: a copy of the same class, so its code,
 * status and fault are unchanged. Other errors are returned as they are.
 */
export function toChatError(error: unknown, sources: readonly ChatSource[]): unknown {
  if (!isHoldfastError(error) || error.param === null) return error;
  // The chat request names its conversation in a header, not a `conversation` field (an unknown
  // or busy one). "conversation" is also a word of the message, which is left as it is.
  if (error.param === "conversation") return renamed(error, CONVERSATION_HEADER, error.message);
  const tool = TOOL_PARAM.exec(error.param);
  if (tool) {
    // The turn checks a chat tool in its Responses form, whose fields are the chat tool's `function`.
    const param = `${tool[1]}.function.${tool[2]}`;
    return renamed(error, param, error.message.replaceAll(error.param, param));
  }
  if (!error.param.startsWith("input")) return error;
  const param = chatParam(error.param, sources);
  // A tool pair's message is reworded as a whole: it speaks of call_id, function_call_output and
  // previous_response_id, which renaming the item's path alone would leave.
  const source = error instanceof ToolPairError && error.list === "input" ? sources[error.index] : undefined;
  if (error instanceof ToolPairError && source)
    return renamed(error, param, chatToolPairMessage(error, source.path));
  if (param === error.param) return error;
  // A bare `input` is also a word of messages (`input tokens`): only an item's path is renamed there.
  const message = error.param === "input" ? error.message : error.message.replaceAll(error.param, param);
  return renamed(error, param, message);
}

/** The header a chat request names its conversation with (the route reads it under this name). */
const CONVERSATION_HEADER = "Holdfast-Conversation";

/** A copy of `error` (same class, so the same code, status and fault) with `param` and `message`. */
function renamed(error: HoldfastError, param: string, message: string): HoldfastError {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as HoldfastError;
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(error));
  Object.defineProperty(copy, "param", { value: param, enumerable: true });
  Object.defineProperty(copy, "message", { value: message, writable: true, configurable: true });
  return copy;
}

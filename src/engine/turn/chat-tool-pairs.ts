/**
 * A tool call or tool message of a chat request that does not pair up, said in the chat
 * request's words. The turn checks the translated Responses input, whose message (`input[1] is
 * a function_call …: give the conversation or previous_response_id …`) names fields and options
 * a chat client never had; these name the message, its `tool_call_id` or `tool_calls` entry, and
 * the `Holdfast-Conversation` header.
 */
import type { ToolPairError } from "./tool-pairs.ts";

const HEADER = "Holdfast-Conversation";

/**
 * The message for `error` on the Chat route. `at` is where the item came from: `messages[3]` for
 * a tool message, `messages[1].tool_calls[0]` for a tool call.
 */
export function chatToolPairMessage(error: ToolPairError, at: string): string {
  const id = `'${error.callId.slice(0, 80)}'`;
  switch (error.problem) {
    case "call_id_reused":
      return `${at}.id ${id} is the id of an earlier tool call in messages; give each tool call its own id.`;
    case "call_unanswered":
      return `${at} (id ${id}) has no tool message after it: an assistant message with tool_calls must be followed by a tool message with tool_call_id ${id}, one per tool call.`;
    case "answered_in_list":
      return `${at} answers tool_call_id ${id}, which an earlier tool message already answers; send one tool message per tool call.`;
    case "no_call_without_history":
      return `${at} answers tool_call_id ${id}, but no assistant message before it has a tool call with that id: send the assistant message with its tool_calls before the tool message, or continue its conversation with the ${HEADER} header.`;
    case "answered_in_history":
      return `${at} answers tool_call_id ${id}, which the conversation named by the ${HEADER} header already holds a tool message for; send one tool message per tool call.`;
    case "no_call_in_history":
      return `${at} answers tool_call_id ${id}, but no tool call with that id is in messages before it or in the conversation named by the ${HEADER} header: send tool messages only for the tool_calls an assistant reply made.`;
  }
}

/**
 * The items of one OpenClaw message (a `message` entry's `message`, or a `custom_message` entry's
 * content). user / custom / hookMessage → a user `message`; assistant → `reasoning`, `message` and
 * `function_call` items; toolResult → `function_call_output`; pi's bashExecution (a `!` command the
 * user ran) → the user message pi made of it for the model.
 *
 * Nothing is dropped unsaid: a content block Holdfast cannot carry (an unknown type, or a known one
 * without its data) is left out with an `unknown_content` warning, and a message that held nothing
 * else is skipped rather than stored empty; a role Holdfast does not know is skipped with an
 * `unknown_role` warning (pi leaves such messages out of the model's context too). A message that
 * was empty in the transcript stays an empty message.
 */
import type { JsonObject, JsonValue } from "../../store/types.ts";
import { isPlainObject } from "../../store/validate.ts";
import type { ImportWarningCode } from "./warnings.ts";

type Block = Record<string, unknown>;

/** Records a warning about the message being converted. */
export type Note = (code: ImportWarningCode, message: string) => void;

/** What a message's content held that no item carries: one description per block. */
type LeftOut = string[];

/** The content as blocks (a string is one text block); anything else is recorded in `left`. */
function blocksIn(content: unknown, left: LeftOut): Block[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) {
    left.push(content === undefined ? "no content" : `content that is a ${typeof content}`);
    return [];
  }
  const blocks: Block[] = [];
  for (const b of content) {
    if (isPlainObject(b)) blocks.push(b);
    else left.push(`a content block that is ${b === null ? "null" : `a ${typeof b}`}`);
  }
  return blocks;
}

function blockName(b: Block): string {
  return typeof b.type === "string" ? `'${b.type}'` : "without a type";
}

/** `2 × 'audio', 'text' without its data`. */
function describe(left: LeftOut): string {
  const counts = new Map<string, number>();
  for (const what of left) counts.set(what, (counts.get(what) ?? 0) + 1);
  return [...counts].map(([what, n]) => (n > 1 ? `${n} × ${what}` : what)).join(", ");
}

/** Text and image blocks as input parts. */
function inputParts(blocks: Block[], left: LeftOut): JsonValue[] {
  const parts: JsonValue[] = [];
  for (const b of blocks) {
    if (b.type === "text" && typeof b.text === "string") parts.push({ type: "input_text", text: b.text });
    else if (b.type === "image" && typeof b.data === "string") {
      parts.push({
        type: "input_image",
        image_url: `data:${String(b.mimeType ?? "image/png")};base64,${b.data}`,
        detail: "auto",
      });
    } else
      left.push(b.type === "text" || b.type === "image" ? `${blockName(b)} without its data` : blockName(b));
  }
  return parts;
}

function userMessage(parts: JsonValue[]): JsonObject {
  return { type: "message", role: "user", content: parts };
}

/** A user message of `content`, or none when everything in it was left out. */
function userItems(content: unknown, left: LeftOut): JsonObject[] {
  const parts = inputParts(blocksIn(content, left), left);
  return parts.length === 0 && left.length > 0 ? [] : [userMessage(parts)];
}

function assistantItems(message: Block, left: LeftOut): JsonObject[] {
  const out: JsonObject[] = [];
  let text: JsonObject | null = null;
  for (const b of blocksIn(message.content, left)) {
    if (b.type === "text" && typeof b.text === "string") {
      if (!text) {
        text = { type: "message", role: "assistant", status: "completed", content: [] };
        out.push(text);
      }
      (text.content as JsonValue[]).push({ type: "output_text", text: b.text, annotations: [] });
      continue;
    }
    text = null;
    if (b.type === "thinking" && typeof b.thinking === "string") {
      out.push({ type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: b.thinking }] });
    } else if (b.type === "toolCall") {
      out.push({
        type: "function_call",
        call_id: String(b.id),
        name: String(b.name),
        arguments: typeof b.arguments === "string" ? b.arguments : JSON.stringify(b.arguments ?? {}),
        status: "completed",
      });
    } else
      left.push(
        b.type === "text" || b.type === "thinking" ? `${blockName(b)} without its data` : blockName(b),
      );
  }
  // An assistant turn that was empty (an error, a silent reply) stays a turn.
  if (out.length === 0 && left.length === 0)
    out.push({ type: "message", role: "assistant", status: "completed", content: [] });
  return out;
}

/** Always an output, even an empty one: the call it answers must not be left open. */
function toolOutput(message: Block, left: LeftOut): JsonObject {
  const parts = inputParts(blocksIn(message.content, left), left) as JsonObject[];
  const output: JsonValue = parts.every((p) => p.type === "input_text")
    ? parts.map((p) => p.text as string).join("\n")
    : parts;
  return { type: "function_call_output", call_id: String(message.toolCallId), output };
}

/** What pi showed the model of a `!` command: the command, its output, how it ended. */
function bashText(m: Block): string {
  const output = typeof m.output === "string" && m.output ? `\`\`\`\n${m.output}\n\`\`\`` : "(no output)";
  let text = `Ran \`${String(m.command ?? "")}\`\n${output}`;
  if (m.cancelled === true) text += "\n\n(command cancelled)";
  else if (typeof m.exitCode === "number" && m.exitCode !== 0)
    text += `\n\nCommand exited with code ${m.exitCode}`;
  if (m.truncated === true && typeof m.fullOutputPath === "string")
    text += `\n\n[Output truncated. Full output: ${m.fullOutputPath}]`;
  return text;
}

function leftOutNote(note: Note, left: LeftOut, skipped: boolean): void {
  if (left.length === 0) return;
  note(
    "unknown_content",
    skipped
      ? `message skipped: it held only content Holdfast cannot carry (${describe(left)})`
      : `content left out of the message: ${describe(left)}`,
  );
}

/** The items of a `message` entry's message (null when the entry has none). */
export function messageItems(message: Block | null, note: Note): JsonObject[] {
  if (!message) {
    note("unknown_role", "message entry without a message object: skipped");
    return [];
  }
  const left: LeftOut = [];
  let bodies: JsonObject[];
  switch (message.role) {
    case "assistant":
      bodies = assistantItems(message, left);
      break;
    case "toolResult":
      bodies = [toolOutput(message, left)];
      break;
    case "user":
    case "custom":
    case "hookMessage":
      // The custom/hookMessage roles of injected messages are user-side context too.
      bodies = userItems(message.content, left);
      break;
    case "bashExecution":
      if (message.excludeFromContext === true) {
        note(
          "excluded_from_context",
          "a '!!' command's output, which pi keeps out of the model's context: skipped",
        );
        return [];
      }
      bodies = [userMessage([{ type: "input_text", text: bashText(message) }])];
      break;
    default:
      note(
        "unknown_role",
        `role ${typeof message.role === "string" ? `'${message.role}'` : "missing"} is not one Holdfast knows: message skipped`,
      );
      return [];
  }
  leftOutNote(note, left, bodies.length === 0);
  return bodies;
}

/** The user message of a `custom_message` entry. */
export function customMessageItems(content: unknown, note: Note): JsonObject[] {
  const left: LeftOut = [];
  const bodies = userItems(content, left);
  leftOutNote(note, left, bodies.length === 0);
  return bodies;
}

/**
 * Parses a Responses API request body into a validated turn request. Shapes the server's JSON
 * Schema cannot express (tool schemas, conflicting options) are checked here, with messages
 * that name the field.
 */
import type { JsonObject } from "../../store/types.ts";
import { checkJson, checkMetadata, checkSessionId, isPlainObject } from "../../store/validate.ts";
import {
  type FunctionTool,
  REASONING_EFFORTS,
  REASONING_SUMMARIES,
  type ReasoningConfig,
  type SamplingExtras,
  type TextConfig,
  type TextFormat,
  type ToolChoice,
  VERBOSITIES,
} from "../providers/types.ts";
import { normalizeInput } from "./input.ts";
import { bad, checkFields, onlyKeys, optionalEnum, optionalNumber, parseSampling } from "./request-fields.ts";
import { sessionOfResponse } from "./response-ids.ts";

export interface ParsedResponseRequest {
  model: string;
  input: { id?: string; content: JsonObject }[];
  instructions: string | null;
  conversationId: string | null;
  previousResponseId: string | null;
  store: boolean;
  truncation: "auto" | "disabled";
  maxOutputTokens: number | null;
  tools: FunctionTool[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
  metadata: Record<string, string>;
  temperature: number | null;
  topP: number | null;
  user: string | null;
  stream: boolean;
  /** Echoed on the Response object; it limits built-in tools, which this gateway does not offer. */
  maxToolCalls: number | null;
  /** `text` (output format, verbosity); null when the request set none. */
  text: TextConfig | null;
  /** `reasoning` (effort, summary); null when the request set none. */
  reasoning: ReasoningConfig | null;
  /** Options carried only to the upstream APIs that take them; null when the request set none. */
  sampling: SamplingExtras | null;
}

/** The JSON Schema keywords whose shape providers check; anything else is passed on as given. */
function checkParameters(schema: Record<string, unknown>, param: string): void {
  if (schema.type !== undefined && schema.type !== "object")
    bad(`${param}.type must be "object".`, `${param}.type`);
  if (schema.properties !== undefined && !isPlainObject(schema.properties)) {
    bad(`${param}.properties must be an object of JSON Schemas.`, `${param}.properties`);
  }
  const required = schema.required;
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === "string"))) {
    bad(`${param}.required must be an array of property names.`, `${param}.required`);
  }
}

function optionalBoolean(body: Record<string, unknown>, key: string): void {
  const value = body[key];
  if (value !== undefined && value !== null && typeof value !== "boolean")
    bad(`${key} must be a boolean.`, key);
}

function parseTools(raw: unknown): FunctionTool[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) bad("tools must be an array.", "tools");
  const names = new Set<string>();
  return raw.map((tool, i) => {
    const param = `tools[${i}]`;
    if (!isPlainObject(tool) || tool.type !== "function") {
      bad(
        `${param}: only function tools are supported ({ type: "function", name, parameters }).`,
        `${param}.type`,
      );
    }
    if (typeof tool.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(tool.name)) {
      bad(`${param}.name must be 1-64 letters, digits, '_' or '-'.`, `${param}.name`);
    }
    if (names.has(tool.name as string))
      bad(`${param}.name '${tool.name}' appears twice in tools.`, `${param}.name`);
    names.add(tool.name as string);
    if (tool.parameters !== undefined && tool.parameters !== null && !isPlainObject(tool.parameters)) {
      bad(`${param}.parameters must be a JSON Schema object.`, `${param}.parameters`);
    }
    if (isPlainObject(tool.parameters)) checkParameters(tool.parameters, `${param}.parameters`);
    if (tool.description !== undefined && typeof tool.description !== "string") {
      bad(`${param}.description must be a string.`, `${param}.description`);
    }
    return {
      type: "function",
      name: tool.name as string,
      ...(typeof tool.description === "string" ? { description: tool.description } : {}),
      ...(isPlainObject(tool.parameters) ? { parameters: tool.parameters } : {}),
      ...(typeof tool.strict === "boolean" ? { strict: tool.strict } : {}),
    };
  });
}

function parseToolChoice(raw: unknown, tools: FunctionTool[]): ToolChoice {
  if (raw === undefined || raw === null) return "auto";
  if (raw === "auto" || raw === "none" || raw === "required") return raw;
  if (isPlainObject(raw) && raw.type === "function" && typeof raw.name === "string") {
    if (!tools.some((t) => t.name === raw.name))
      bad(`tool_choice names '${raw.name}', which is not in tools.`, "tool_choice");
    return { type: "function", name: raw.name };
  }
  return bad('tool_choice must be "auto", "none", "required" or { type: "function", name }.', "tool_choice");
}

/** Where a format's schema sits in the stored response record (record.request.text.format.schema). */
const SCHEMA_DEPTH_IN_RECORD = 4;

/**
 * A Responses `text.format` (or a chat `response_format` flattened to that shape, named by
 * `param`): `{type: "text"}`, `{type: "json_object"}` or `{type: "json_schema", name, schema,
 * strict, description}`.
 */
export function parseTextFormat(raw: unknown, param: string): TextFormat {
  if (!isPlainObject(raw)) {
    bad(
      `${param} must be {type: "text"}, {type: "json_object"} or {type: "json_schema", name, schema, strict}.`,
      param,
    );
  }
  const type = raw.type;
  if (type === "text" || type === "json_object") {
    onlyKeys(raw, ["type"], param);
    return { type };
  }
  if (type !== "json_schema")
    bad(`${param}.type must be "text", "json_object" or "json_schema".`, `${param}.type`);
  onlyKeys(raw, ["type", "name", "schema", "strict", "description"], param);
  if (typeof raw.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(raw.name)) {
    bad(`${param}.name must be 1-64 letters, digits, '_' or '-'.`, `${param}.name`);
  }
  if (!isPlainObject(raw.schema)) bad(`${param}.schema must be a JSON Schema object.`, `${param}.schema`);
  // Stored with the response: within the store's nesting limit there, checked before anything is written.
  checkJson(raw.schema, `${param}.schema`, SCHEMA_DEPTH_IN_RECORD);
  if (raw.strict !== undefined && raw.strict !== null && typeof raw.strict !== "boolean") {
    bad(`${param}.strict must be a boolean.`, `${param}.strict`);
  }
  if (raw.description !== undefined && raw.description !== null && typeof raw.description !== "string") {
    bad(`${param}.description must be a string.`, `${param}.description`);
  }
  return {
    type,
    name: raw.name as string,
    schema: raw.schema,
    ...(typeof raw.strict === "boolean" ? { strict: raw.strict } : {}),
    ...(typeof raw.description === "string" ? { description: raw.description } : {}),
  };
}

function parseText(raw: unknown): TextConfig | null {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) bad("text must be an object: { format, verbosity }.", "text");
  onlyKeys(raw, ["format", "verbosity"], "text");
  const verbosity = optionalEnum(raw.verbosity, VERBOSITIES, "text.verbosity");
  return {
    ...(raw.format === undefined || raw.format === null
      ? {}
      : { format: parseTextFormat(raw.format, "text.format") }),
    ...(verbosity === null ? {} : { verbosity }),
  };
}

function parseReasoning(raw: unknown): ReasoningConfig | null {
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) bad("reasoning must be an object: { effort, summary }.", "reasoning");
  onlyKeys(raw, ["effort", "summary", "generate_summary"], "reasoning");
  const effort = optionalEnum(raw.effort, REASONING_EFFORTS, "reasoning.effort");
  // `generate_summary` is the deprecated name of `summary`.
  const summaryKey = raw.summary === undefined || raw.summary === null ? "generate_summary" : "summary";
  const summary = optionalEnum(raw[summaryKey], REASONING_SUMMARIES, `reasoning.${summaryKey}`);
  return { ...(effort === null ? {} : { effort }), ...(summary === null ? {} : { summary }) };
}

/**
 * Marks a body translated from a Chat Completions request (a symbol, so no JSON body can carry
 * it): the checks that differ between the two APIs follow the API the client called.
 */
export const FROM_CHAT = Symbol("holdfast.fromChat");

/** The smallest output limit each API accepts: Responses' `max_output_tokens` 16, Chat's `max_tokens` 1. */
const MIN_OUTPUT_TOKENS = { responses: 16, chat: 1 } as const;

/** `max_output_tokens`, or the Chat Completions field (`param`) that becomes it. */
export function checkMaxOutputTokens(
  raw: unknown,
  param = "max_output_tokens",
  api: keyof typeof MIN_OUTPUT_TOKENS = "responses",
): number | null {
  return optionalNumber(raw, param, MIN_OUTPUT_TOKENS[api], 1_000_000, true);
}

export function parseResponseRequest(body: unknown): ParsedResponseRequest {
  if (!isPlainObject(body)) bad("The request body must be a JSON object.", "body");
  const api = (body as { [FROM_CHAT]?: boolean })[FROM_CHAT] === true ? "chat" : "responses";
  // A chat body was checked against the chat fields before it was translated.
  if (api === "responses") checkFields(body, api);
  if (typeof body.model !== "string" || body.model.length === 0) bad("model is required.", "model");
  if (body.input === undefined) bad("input is required (a string or an array of items).", "input");
  const conversation = body.conversation;
  let conversationId: string | null = null;
  if (typeof conversation === "string") conversationId = checkSessionId(conversation, "conversation");
  else if (isPlainObject(conversation)) conversationId = checkSessionId(conversation.id, "conversation.id");
  else if (conversation !== undefined && conversation !== null)
    bad("conversation must be an id or { id }.", "conversation");
  const previous = body.previous_response_id;
  if (previous !== undefined && previous !== null && typeof previous !== "string") {
    bad("previous_response_id must be a string.", "previous_response_id");
  }
  // "" included: a malformed id is refused here, not read as "no previous response".
  if (typeof previous === "string") sessionOfResponse(previous);
  if (conversationId && previous) {
    bad("Use either conversation or previous_response_id, not both.", "previous_response_id");
  }
  const truncation = body.truncation ?? "disabled";
  if (truncation !== "auto" && truncation !== "disabled")
    bad('truncation must be "auto" or "disabled".', "truncation");
  optionalBoolean(body, "store");
  if (
    body.instructions !== undefined &&
    body.instructions !== null &&
    typeof body.instructions !== "string"
  ) {
    bad("instructions must be a string.", "instructions");
  }
  if (body.user !== undefined && body.user !== null && typeof body.user !== "string")
    bad("user must be a string.", "user");
  optionalBoolean(body, "stream");
  optionalBoolean(body, "parallel_tool_calls");
  const tools = parseTools(body.tools);
  return {
    model: body.model as string,
    input: normalizeInput(body.input),
    instructions: (body.instructions as string | undefined) ?? null,
    conversationId,
    previousResponseId: (previous as string | undefined) ?? null,
    store: body.store !== false,
    truncation,
    maxOutputTokens: checkMaxOutputTokens(body.max_output_tokens, "max_output_tokens", api),
    tools,
    toolChoice: parseToolChoice(body.tool_choice, tools),
    parallelToolCalls: body.parallel_tool_calls !== false,
    metadata: body.metadata === undefined || body.metadata === null ? {} : checkMetadata(body.metadata),
    temperature: optionalNumber(body.temperature, "temperature", 0, 2),
    topP: optionalNumber(body.top_p, "top_p", 0, 1),
    user: (body.user as string | undefined) ?? null,
    stream: body.stream === true,
    // Checked with the Responses fields (request-fields.ts); absent from translated chat bodies.
    maxToolCalls: typeof body.max_tool_calls === "number" ? body.max_tool_calls : null,
    text: parseText(body.text),
    reasoning: parseReasoning(body.reasoning),
    sampling: parseSampling(body, api),
  };
}

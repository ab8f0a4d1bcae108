/**
 * Every top-level field of OpenAI's create-request bodies (the `openai` SDK's
 * `ResponseCreateParams` and `ChatCompletionCreateParams`), and what the gateway does with it:
 * parsed into the turn, carried to the upstreams whose API takes it, accepted and ignored on
 * purpose, or refused when the gateway cannot honour the value. A field in neither table is
 * unknown and ignored, as before. Checks run only for fields present in the body.
 */
import { InvalidArgumentError } from "../../store/errors.ts";
import { isPlainObject } from "../../store/validate.ts";
import { CARRIED_INCLUDES, type SamplingExtras, SERVICE_TIERS } from "../providers/types.ts";

export function bad(message: string, param: string): never {
  throw new InvalidArgumentError(message, { param });
}

export function optionalNumber(
  raw: unknown,
  param: string,
  min: number,
  max: number,
  integer = false,
): number | null {
  if (raw === undefined || raw === null) return null;
  if (
    typeof raw !== "number" ||
    !Number.isFinite(raw) ||
    raw < min ||
    raw > max ||
    (integer && !Number.isInteger(raw))
  ) {
    bad(`${param} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}.`, param);
  }
  return raw;
}

/** One of `values`, or null when absent (`null` included, as OpenAI's SDK sends it). */
export function optionalEnum<T extends string>(raw: unknown, values: readonly T[], param: string): T | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string" || !values.includes(raw as T))
    bad(`${param} must be one of ${values.join(", ")}.`, param);
  return raw as T;
}

/** Refuses keys of `raw` (the object at `param`) outside `keys`: an option is never silently dropped. */
export function onlyKeys(raw: Record<string, unknown>, keys: readonly string[], param: string): void {
  for (const key of Object.keys(raw)) {
    if (!keys.includes(key)) {
      bad(
        `${param}.${key.slice(0, 64)} is not supported; ${param} takes ${keys.join(", ")}.`,
        `${param}.${key}`,
      );
    }
  }
}

function boolean(value: unknown, param: string): boolean {
  if (typeof value !== "boolean") bad(`${param} must be a boolean.`, param);
  return value;
}

function string(value: unknown, param: string, maxChars = Number.POSITIVE_INFINITY): string {
  if (typeof value !== "string" || value.length > maxChars) {
    bad(
      `${param} must be a string${Number.isFinite(maxChars) ? ` of at most ${maxChars} characters` : ""}.`,
      param,
    );
  }
  return value;
}

// ---- carried: parsed into `SamplingExtras` (absent and null values never reach these) ----

/** OpenAI's limit: up to 4 stop sequences. */
const MAX_STOP = 4;

function parseStop(raw: unknown, param: string): string[] | undefined {
  const list = typeof raw === "string" ? [raw] : raw;
  if (
    !Array.isArray(list) ||
    list.length > MAX_STOP ||
    !list.every((s) => typeof s === "string" && s !== "")
  ) {
    bad(`${param} must be a non-empty string or an array of up to ${MAX_STOP} non-empty strings.`, param);
  }
  return list.length > 0 ? (list as string[]) : undefined;
}

function parseLogitBias(raw: unknown, param: string): Record<string, number> | undefined {
  if (!isPlainObject(raw)) bad(`${param} must be an object of token ids to biases from -100 to 100.`, param);
  for (const [token, bias] of Object.entries(raw)) {
    if (!/^[0-9]{1,10}$/.test(token))
      bad(`${param}: '${token.slice(0, 32)}' is not a token id; the keys are token ids (digits).`, param);
    optionalNumber(bias, `${param}.${token}`, -100, 100);
  }
  return Object.keys(raw).length > 0 ? (raw as Record<string, number>) : undefined;
}

/**
 * OpenAI's `include` values (the SDK's `ResponseIncludable`): what a turn and the item routes
 * (`GET …/items`, `…/input_items`) take. A turn refuses those it cannot produce (below).
 */
export const RESPONSE_INCLUDES = [
  "file_search_call.results",
  "web_search_call.results",
  "web_search_call.action.sources",
  "message.input_image.image_url",
  "computer_call_output.output.image_url",
  "code_interpreter_call.outputs",
  "reasoning.encrypted_content",
  "message.output_text.logprobs",
] as const;

/** `include` values: satisfied without the upstream (stored items are returned whole). */
const SATISFIED_INCLUDES = ["message.input_image.image_url", "computer_call_output.output.image_url"];
/** `include` values the gateway cannot produce, and why. */
const REFUSED_INCLUDES: Record<string, string> = {
  "message.output_text.logprobs": "this gateway returns no log probabilities",
  "file_search_call.results": "only function tools are supported, so there are no file search calls",
  "web_search_call.results": "only function tools are supported, so there are no web search calls",
  "web_search_call.action.sources": "only function tools are supported, so there are no web search calls",
  "code_interpreter_call.outputs":
    "only function tools are supported, so there are no code interpreter calls",
};

function parseInclude(raw: unknown, param: string): SamplingExtras["include"] {
  if (!Array.isArray(raw)) bad(`${param} must be an array of strings.`, param);
  const carried: NonNullable<SamplingExtras["include"]> = [];
  raw.forEach((value, i) => {
    const at = `${param}[${i}]`;
    if ((CARRIED_INCLUDES as readonly unknown[]).includes(value)) {
      if (!carried.includes(value)) carried.push(value);
    } else if (typeof value !== "string" || !SATISFIED_INCLUDES.includes(value)) {
      const why = typeof value === "string" ? REFUSED_INCLUDES[value] : undefined;
      const accepted = [...CARRIED_INCLUDES, ...SATISFIED_INCLUDES].join(", ");
      bad(
        why
          ? `${at}: '${value}' cannot be included: ${why}.`
          : `${at} must be one of ${accepted} (the values this gateway can include).`,
        at,
      );
    }
  });
  return carried.length > 0 ? carried : undefined;
}

type SamplingParsers = {
  [K in keyof SamplingExtras]-?: (raw: unknown, param: string) => SamplingExtras[K];
};

const SAMPLING_PARSERS: SamplingParsers = {
  stop: parseStop,
  seed: (raw, param) => {
    if (!Number.isSafeInteger(raw)) bad(`${param} must be an integer.`, param);
    return raw as number;
  },
  presence_penalty: (raw, param) => optionalNumber(raw, param, -2, 2) as number,
  frequency_penalty: (raw, param) => optionalNumber(raw, param, -2, 2) as number,
  logit_bias: parseLogitBias,
  service_tier: (raw, param) => optionalEnum(raw, SERVICE_TIERS, param) ?? undefined,
  prompt_cache_key: (raw, param) => string(raw, param),
  // OpenAI's limit for the identifier.
  safety_identifier: (raw, param) => string(raw, param, 128),
  include: parseInclude,
};

// ---- the tables ----

type Check = (value: unknown, param: string) => void;
export interface FieldRule {
  /**
   * parsed: read into the turn (request.ts, chat-compat.ts); carried: sent to the upstreams whose
   * API takes it (`SamplingExtras`); ignored: accepted on purpose, without effect; refused: a value
   * the gateway cannot honour is a 400 (the field's defaults pass).
   */
  does: "parsed" | "carried" | "ignored" | "refused";
  /** Runs when the field is present and not null. */
  check?: Check;
}

const PARSED: FieldRule = { does: "parsed" };
const CARRIED: FieldRule = { does: "carried" };
const ignored = (check: Check): FieldRule => ({ does: "ignored", check });
/** Refused whatever its value (null aside). */
const refused = (why: string): FieldRule => ({
  does: "refused",
  check: (_value, param) => bad(`${param} is not supported: ${why}.`, param),
});
/** Refused when true; false passes. */
const refusedIfTrue = (why: string): FieldRule => ({
  does: "refused",
  check: (value, param) => {
    if (boolean(value, param))
      bad(`${param}: true is not supported (${why}); send false or leave it out.`, param);
  },
});

/** Refused unless an empty array (its default). */
const refusedUnlessEmpty = (why: string): FieldRule => ({
  does: "refused",
  check: (value, param) => {
    if (!Array.isArray(value) || value.length > 0)
      bad(`${param} is not supported: ${why}; send [] or leave it out.`, param);
  },
});

const NO_LOGPROBS = "the turn's output carries no log probabilities";
/** `top_logprobs` 0-20; only 0 (none) can be honoured. */
const TOP_LOGPROBS: FieldRule = {
  does: "refused",
  check: (value, param) => {
    if (optionalNumber(value, param, 0, 20, true) !== 0)
      bad(`${param} is not supported: ${NO_LOGPROBS}; send 0 or leave it out.`, param);
  },
};
const objectCheck =
  (keys: readonly string[], booleans: boolean): Check =>
  (value, param) => {
    if (!isPlainObject(value)) bad(`${param} must be an object.`, param);
    onlyKeys(value, keys, param);
    if (booleans) for (const key of Object.keys(value)) boolean(value[key], `${param}.${key}`);
  };
/** Prompt-cache hints change what caching costs, not what the model answers. */
const CACHE_RETENTION = ignored((value, param) => optionalEnum(value, ["in_memory", "24h"], param));
const CACHE_OPTIONS = ignored((value, param) => {
  if (!isPlainObject(value)) bad(`${param} must be an object.`, param);
});

/** `POST /v1/responses`. */
const RESPONSES_FIELDS: Readonly<Record<string, FieldRule>> = {
  model: PARSED,
  input: PARSED,
  instructions: PARSED,
  conversation: PARSED,
  previous_response_id: PARSED,
  store: PARSED,
  truncation: PARSED,
  max_output_tokens: PARSED,
  tools: PARSED,
  tool_choice: PARSED,
  parallel_tool_calls: PARSED,
  metadata: PARSED,
  temperature: PARSED,
  top_p: PARSED,
  user: PARSED,
  stream: PARSED,
  text: PARSED,
  reasoning: PARSED,
  service_tier: CARRIED,
  prompt_cache_key: CARRIED,
  safety_identifier: CARRIED,
  include: CARRIED,
  // Limits calls to built-in tools, which this gateway does not offer (only function tools);
  // echoed on the Response object.
  max_tool_calls: ignored((value, param) => optionalNumber(value, param, 0, 1_000_000, true)),
  // Stream obfuscation is not added by this gateway.
  stream_options: ignored(objectCheck(["include_obfuscation"], true)),
  prompt_cache_retention: CACHE_RETENTION,
  prompt_cache_options: CACHE_OPTIONS,
  background: refusedIfTrue("turns run in the foreground; stream for long ones"),
  prompt: refused("stored prompt templates are not available; send instructions and input"),
  top_logprobs: TOP_LOGPROBS,
  context_management: refusedUnlessEmpty('use truncation "auto" (Holdfast fits and compacts the context)'),
  moderation: refused("the gateway runs no moderation"),
  image: refused("only function tools are supported, so no image generation"),
  access_programs: refused("no access programs are available through this gateway"),
};

/** `POST /v1/chat/completions` (translated to the Responses shape by chat-compat.ts). */
const CHAT_FIELDS: Readonly<Record<string, FieldRule>> = {
  model: PARSED,
  messages: PARSED,
  max_tokens: PARSED,
  max_completion_tokens: PARSED,
  n: PARSED,
  response_format: PARSED,
  verbosity: PARSED,
  reasoning_effort: PARSED,
  tools: PARSED,
  tool_choice: PARSED,
  parallel_tool_calls: PARSED,
  temperature: PARSED,
  top_p: PARSED,
  user: PARSED,
  metadata: PARSED,
  stream: PARSED,
  // include_usage is read by the route; obfuscation is not added by this gateway.
  stream_options: { does: "parsed", check: objectCheck(["include_usage", "include_obfuscation"], true) },
  stop: CARRIED,
  seed: CARRIED,
  presence_penalty: CARRIED,
  frequency_penalty: CARRIED,
  logit_bias: CARRIED,
  service_tier: CARRIED,
  prompt_cache_key: CARRIED,
  safety_identifier: CARRIED,
  // OpenAI's stored completions (distillation, evals); Holdfast stores by conversation instead.
  store: ignored(boolean),
  prompt_cache_retention: CACHE_RETENTION,
  prompt_cache_options: CACHE_OPTIONS,
  logprobs: refusedIfTrue(NO_LOGPROBS),
  top_logprobs: TOP_LOGPROBS,
  modalities: {
    does: "refused",
    check: (value, param) => {
      if (!Array.isArray(value) || !value.every((m) => m === "text" || m === "audio"))
        bad(`${param} must be an array of "text" and "audio".`, param);
      if (value.includes("audio"))
        bad(`${param}: "audio" is not supported: the gateway produces text only; send ["text"].`, param);
    },
  },
  audio: refused("the gateway produces text only"),
  prediction: refused("predicted outputs are not passed to the upstream; send the request without it"),
  functions: refusedUnlessEmpty("use tools (functions is the deprecated form)"),
  function_call: refused("use tool_choice (function_call is the deprecated form)"),
  web_search_options: refused("only function tools are supported, so no web search"),
  moderation: refused("the gateway runs no moderation"),
};

export type Api = "responses" | "chat";

function checksOf(table: Readonly<Record<string, FieldRule>>): [string, Check][] {
  return Object.entries(table).flatMap(([key, rule]): [string, Check][] =>
    rule.check ? [[key, rule.check]] : [],
  );
}

function carriedOf(table: Readonly<Record<string, FieldRule>>): (keyof SamplingExtras)[] {
  return Object.keys(table).filter((key): key is keyof SamplingExtras => {
    if (table[key]?.does !== "carried") return false;
    if (!(key in SAMPLING_PARSERS))
      throw new Error(`${key} is carried but SamplingExtras has no parser for it.`);
    return true;
  });
}

const CHECKS = { responses: checksOf(RESPONSES_FIELDS), chat: checksOf(CHAT_FIELDS) };
const CARRIED_KEYS = { responses: carriedOf(RESPONSES_FIELDS), chat: carriedOf(CHAT_FIELDS) };

/** The checks of `api`'s ignored, refused and checked fields that `body` has. */
export function checkFields(body: Record<string, unknown>, api: Api): void {
  for (const [key, check] of CHECKS[api]) {
    const value = body[key];
    if (value !== undefined && value !== null) check(value, key);
  }
}

/** The fields of `api` carried to the upstream, under the names both APIs share. */
export function carriedFields(api: Api): readonly (keyof SamplingExtras)[] {
  return CARRIED_KEYS[api];
}

/** The carried fields of `body`, checked; null when it has none. */
export function parseSampling(body: Record<string, unknown>, api: Api): SamplingExtras | null {
  let extras: Record<string, unknown> | null = null;
  for (const key of CARRIED_KEYS[api]) {
    const raw = body[key];
    if (raw === undefined || raw === null) continue;
    const value = SAMPLING_PARSERS[key](raw, key);
    if (value === undefined) continue;
    extras ??= {};
    extras[key] = value;
  }
  return extras as SamplingExtras | null;
}

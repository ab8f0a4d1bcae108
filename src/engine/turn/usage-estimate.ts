/**
 * Usage the upstream did not report, estimated. A Chat Completions server that ignores
 * `stream_options.include_usage`, or a stream cut before its usage chunk, leaves the counts at
 * zero; recording that would undercount the ledger and the spend cap. A side counts as unreported
 * when it is zero while the turn produced output (any request the upstream answered has input
 * tokens, any output has output tokens). Input is then the window the engine sent (its token counts
 * are already known) plus the instructions, output the output items counted with the model's token
 * counter. Only turns that need it pay for the counting. A call cut short (its client gone) while
 * the upstream had the request and before any answer came back (non-streamed, or streamed before
 * its first event) reported nothing and produced nothing, but the provider
 * received the whole prompt and bills it: its input is estimated the same way, its output stays 0
 * (unknown: whatever the upstream went on to generate is never seen).
 */
import type { JsonObject } from "../../store/types.ts";
import type { ModelInfo } from "../context/catalog.ts";
import { createModelTextCounter, createTokenCounter } from "../context/token-counter.ts";
import type { TurnResult, Usage } from "../providers/types.ts";
import type { ServedTarget } from "./turn-types.ts";

/** Usage as recorded: `estimated` is set (a Holdfast extension) when Holdfast counted it itself. */
export interface RecordedUsage extends Usage {
  estimated?: true;
}

/** What was sent upstream, for the input estimate, and where it went. */
export interface SentInput {
  /** Tokens of the window sent. */
  tokens: number;
  instructions: string | null;
  /** The route target that served it, once the route picked one (what the turn is priced at). */
  target?: ServedTarget;
  /** The call was cut short on purpose after its request reached `target`: its input was billed. */
  cutInFlight?: true;
}

/** Whether the upstream left a side of the usage unreported. */
export function usageMissing(result: TurnResult, sent?: SentInput | null): boolean {
  const { input_tokens, output_tokens } = result.usage;
  if (result.output.length > 0) return input_tokens === 0 || output_tokens === 0;
  // Nothing came back, but the upstream had the prompt: its input is billed, unreported.
  return sent?.cutInFlight === true && input_tokens === 0;
}

/** The result's usage with its unreported sides estimated (cached and cache-write tokens stay as reported). */
export function estimateUsage(result: TurnResult, model: ModelInfo, sent: SentInput | null): RecordedUsage {
  const usage = result.usage;
  let input = usage.input_tokens;
  if (input === 0 && sent) {
    input = sent.tokens + (sent.instructions ? createModelTextCounter(model)(sent.instructions) : 0);
  }
  let output = usage.output_tokens;
  if (output === 0) {
    const count = createTokenCounter(model);
    for (const item of result.output) output += count(item as unknown as JsonObject);
  }
  return {
    input_tokens: input,
    output_tokens: output,
    cached_tokens: usage.cached_tokens,
    // Cache writes stay as reported too: the ledger prices them above plain input.
    ...(usage.cache_write_tokens === undefined ? {} : { cache_write_tokens: usage.cache_write_tokens }),
    ...(usage.cache_write_1h_tokens === undefined
      ? {}
      : { cache_write_1h_tokens: usage.cache_write_1h_tokens }),
    ...(usage.reasoning_tokens === undefined ? {} : { reasoning_tokens: usage.reasoning_tokens }),
    // Reported before the cut (Anthropic's message_start): a cache write is priced above input.
    ...(usage.cache_write_tokens === undefined ? {} : { cache_write_tokens: usage.cache_write_tokens }),
    estimated: true,
  };
}

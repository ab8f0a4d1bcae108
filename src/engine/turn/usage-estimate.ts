/**
 * Usage the upstream did not report, estimated. A Chat Completions server that ignores
 * `stream_options.include_usage`, or a stream cut before its usage chunk, leaves the counts at
 * zero; recording that would undercount the ledger and the spend cap. The input counts as
 * unreported when it is zero while the upstream had the request (any request it received is
 * billed its input): the call answered, its stream started, or it was cut short after its request
 * went out. The output counts as unreported when it is zero while the turn produced output. Input
 * is then the window the engine sent (its token counts are already known) plus the instructions,
 * output the output items counted with the model's token counter. Only turns that need it pay for
 * the counting. A call that came back with nothing (an answer filtered away, or a call cut before
 * its first event: whatever the upstream went on to generate is never seen) keeps output 0.
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
  /**
   * The upstream had the request: it answered, its stream started, or the call was cut short
   * after the request went out. Its input was billed, whatever came back.
   */
  reached?: true;
}

/** Whether the upstream left a side of the usage unreported. */
export function usageMissing(result: TurnResult, sent?: SentInput | null): boolean {
  const { input_tokens, output_tokens } = result.usage;
  // Output, or an upstream that had the prompt, means the input was billed: 0 is unreported.
  if (input_tokens === 0 && (sent?.reached === true || result.output.length > 0)) return true;
  return result.output.length > 0 && output_tokens === 0;
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

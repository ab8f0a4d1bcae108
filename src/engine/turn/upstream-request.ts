/** Translates a planned turn into the provider-layer request sent upstream. */
import type { TurnRequest } from "../providers/types.ts";
import type { TurnHistory } from "./history.ts";
import type { TurnPlan } from "./plan.ts";

/** The upstream request: the request's generation options plus the items the history produced. */
export function toTurnRequest(
  plan: TurnPlan,
  history: Pick<TurnHistory, "input" | "origin">,
  signal: AbortSignal | undefined,
): TurnRequest {
  const r = plan.request;
  return {
    model: r.model,
    input: history.input,
    input_origin: history.origin,
    ...(r.instructions !== null ? { instructions: r.instructions } : {}),
    ...(r.tools.length > 0
      ? { tools: r.tools, tool_choice: r.toolChoice, parallel_tool_calls: r.parallelToolCalls }
      : {}),
    ...(r.maxOutputTokens !== null ? { max_output_tokens: r.maxOutputTokens } : {}),
    ...(r.temperature !== null ? { temperature: r.temperature } : {}),
    ...(r.topP !== null ? { top_p: r.topP } : {}),
    ...(r.user !== null ? { user: r.user } : {}),
    ...(r.text !== null && Object.keys(r.text).length > 0 ? { text: r.text } : {}),
    ...(r.reasoning !== null && Object.keys(r.reasoning).length > 0 ? { reasoning: r.reasoning } : {}),
    ...(r.sampling !== null ? { sampling: r.sampling } : {}),
    ...(signal ? { signal } : {}),
  };
}

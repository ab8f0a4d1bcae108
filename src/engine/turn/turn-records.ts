/**
 * Builds what a turn stores: its response record (the `in_progress` base and the final one from
 * the provider's result) and its output items with ids the store accepts.
 */
import type { HoldfastError } from "../../store/errors.ts";
import { ITEM_ID_PATTERN, newItemId } from "../../store/ids.ts";
import type { AppendResult, ItemInput, JsonObject } from "../../store/types.ts";
import type { TurnResult } from "../providers/types.ts";
import type { CompactionRecord } from "./compaction-spend.ts";
import type { TurnPlan } from "./plan.ts";
import { RECORD_TYPE, type ResponseRecord, type UsageRecord } from "./record.ts";
import type { ServedTarget } from "./turn-types.ts";

/** The provider's output items, ready to append. */
export function outputItems(result: TurnResult): ItemInput[] {
  return result.output.map((item) => {
    const { id: upstreamId, ...body } = item as JsonObject;
    // Keep the id the stream already showed the client, when it is one we can store.
    const id =
      typeof upstreamId === "string" && ITEM_ID_PATTERN.test(upstreamId)
        ? upstreamId
        : newItemId(String(body.type));
    return { id, content: body as JsonObject };
  });
}

/** The record of a finished (or cut short) turn. */
export function finalRecord(
  plan: TurnPlan,
  now: number,
  input: AppendResult | null,
  outputs: ItemInput[],
  result: TurnResult,
  usage: UsageRecord,
  costUsd: number | null,
  error: HoldfastError | undefined,
  served?: ServedTarget,
  compaction?: CompactionRecord | null,
): ResponseRecord {
  const model = result.model || served?.model;
  return {
    ...baseRecord(plan, now),
    status: error && result.output.length === 0 ? "failed" : result.status,
    served_by: model ? { provider: served?.provider ?? "", model } : null,
    input_item_ids: input?.items.map((i) => i.id) ?? [],
    output_item_ids: outputs.map((o) => o.id!),
    usage: { ...usage },
    cost_usd: costUsd,
    incomplete_reason: result.status === "incomplete" ? (result.incomplete_reason ?? "interrupted") : null,
    error: error ? { code: error.code, message: error.message } : null,
    ...(result.service_tier === undefined ? {} : { service_tier: result.service_tier }),
    ...(compaction ? { compaction: { ...compaction } } : {}),
  };
}

/** The record of a turn that has not produced anything yet (also the `in_progress` response). */
export function baseRecord(plan: TurnPlan, now: number): ResponseRecord {
  const r = plan.request;
  return {
    type: RECORD_TYPE,
    status: "in_progress",
    model: r.model,
    served_by: null,
    created_at: Math.floor(now / 1000),
    conversation_id: r.conversationId,
    previous_response_id: r.previousResponseId,
    instructions: r.instructions,
    input_item_ids: [],
    output_item_ids: [],
    usage: { input_tokens: 0, output_tokens: 0, cached_tokens: 0 },
    cost_usd: null,
    metadata: r.metadata,
    request: {
      tools: r.tools as unknown as JsonObject[],
      tool_choice: r.toolChoice as string | JsonObject,
      parallel_tool_calls: r.parallelToolCalls,
      max_output_tokens: r.maxOutputTokens,
      temperature: r.temperature,
      top_p: r.topP,
      truncation: r.truncation,
      text: r.text as JsonObject | null,
      reasoning: r.reasoning as JsonObject | null,
      store: r.store,
      user: r.user,
      max_tool_calls: r.maxToolCalls,
      service_tier: r.sampling?.service_tier ?? null,
      prompt_cache_key: r.sampling?.prompt_cache_key ?? null,
      safety_identifier: r.sampling?.safety_identifier ?? null,
    },
    incomplete_reason: null,
    error: null,
  };
}

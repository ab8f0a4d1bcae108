/**
 * A response record as the turn engine writes it, reduced to what the usage ledger reads (the
 * usage route, the dashboard's usage report): tests of money sums append these directly.
 */
import { RECORD_TYPE } from "./record.ts";

export function ledgerRecord(costUsd: number | null, compactionCostUsd?: number) {
  return {
    content: {
      type: RECORD_TYPE,
      status: "completed",
      model: "gpt-4o",
      served_by: null,
      created_at: 1_700_000_000,
      usage: { input_tokens: 10, output_tokens: 5, cached_tokens: 0 },
      cost_usd: costUsd,
      ...(compactionCostUsd === undefined
        ? {}
        : {
            compaction: {
              calls: 1,
              model: "gpt-4o-mini",
              served_by: null,
              input_tokens: 100,
              output_tokens: 20,
              cached_tokens: 0,
              cost_usd: compactionCostUsd,
            },
          }),
    },
  };
}

/**
 * A session's turns with their tokens and cost, and what the compaction each turn triggered spent
 * on summarizer calls (apart from the turn's own call, as `GET /v1/conversations/{id}/usage` lists
 * it). The totals are everything spent, compaction included, as that route's `total`.
 */
import { fmtNumber, fmtTime, fmtUsd, h } from "../dom.ts";

export interface TurnCompaction {
  calls: number;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number | null;
}

export interface Turn {
  responseId: string;
  seq: number;
  model: string;
  servedBy: string | null;
  status: string;
  createdAt: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /** The turn's own call. */
  costUsd: number | null;
  compaction: TurnCompaction | null;
}

export interface TurnTotals {
  /** Everything spent: the turns' own calls and their compaction. */
  input: number;
  output: number;
  cost: number;
  /** The compaction share. */
  compactionCalls: number;
  compactionCost: number;
}

export function turnTotals(turns: readonly Turn[]): TurnTotals {
  const totals = { input: 0, output: 0, cost: 0, compactionCalls: 0, compactionCost: 0 };
  for (const t of turns) {
    totals.input += t.inputTokens + (t.compaction?.inputTokens ?? 0);
    totals.output += t.outputTokens + (t.compaction?.outputTokens ?? 0);
    totals.cost += (t.costUsd ?? 0) + (t.compaction?.costUsd ?? 0);
    totals.compactionCalls += t.compaction?.calls ?? 0;
    totals.compactionCost += t.compaction?.costUsd ?? 0;
  }
  return totals;
}

/** "$0.00027 (2 calls, 2,000 in / 400 out)", or "—" for a turn that compacted nothing. */
function compactionCell(c: TurnCompaction | null): string {
  if (!c) return "—";
  const calls = `${fmtNumber(c.calls)} ${c.calls === 1 ? "call" : "calls"}`;
  return `${fmtUsd(c.costUsd)} (${calls}, ${fmtNumber(c.inputTokens)} in / ${fmtNumber(c.outputTokens)} out)`;
}

/** The turns table: one row per turn (its compaction in its own column), totals at the foot. */
export function turnTable(turns: readonly Turn[], totals: TurnTotals): HTMLElement {
  const compacted = turns.filter((t) => t.compaction).length;
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, "Turns"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Response", "Model", "Served by", "Status", "Input", "Output", "Cost", "Compaction", "At"].map(
            (c) => h("th", { scope: "col" }, c),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        ...turns.map((t) =>
          h(
            "tr",
            {},
            h("td", { class: "mono" }, t.responseId),
            h("td", {}, t.model),
            h("td", {}, t.servedBy ?? "—"),
            h("td", {}, t.status),
            h("td", { class: "num" }, fmtNumber(t.inputTokens)),
            h("td", { class: "num" }, fmtNumber(t.outputTokens)),
            h("td", { class: "num" }, fmtUsd(t.costUsd)),
            h("td", { class: "num" }, compactionCell(t.compaction)),
            h("td", {}, fmtTime(t.createdAt)),
          ),
        ),
      ),
      h(
        "tfoot",
        {},
        h(
          "tr",
          {},
          h(
            "th",
            { scope: "row", colspan: 4 },
            `Total (${turns.length} turns${compacted ? `, compaction included` : ""})`,
          ),
          h("td", { class: "num" }, fmtNumber(totals.input)),
          h("td", { class: "num" }, fmtNumber(totals.output)),
          h("td", { class: "num" }, fmtUsd(totals.cost)),
          h(
            "td",
            { class: "num" },
            compacted
              ? `${fmtUsd(totals.compactionCost)} (${fmtNumber(totals.compactionCalls)} ${totals.compactionCalls === 1 ? "call" : "calls"})`
              : "—",
          ),
          h("td", {}),
        ),
      ),
    ),
  );
}

import { api, qs } from "../api.ts";
import { type ChartData, stackedBars } from "../chart.ts";
import { fmtNumber, fmtUsd, h } from "../dom.ts";
import type { ViewContext } from "../main.ts";

interface UsagePoint {
  day: string;
  tenant: string;
  model: string;
  turns: number;
  /** Tokens and cost: everything spent, the turns' own calls and their compaction. */
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** The compaction share: summarizer calls and their cost. */
  compactionCalls: number;
  compactionCostUsd: number;
}

interface UsageReport {
  days: number;
  points: UsagePoint[];
  topSessions: {
    tenant: string;
    id: string;
    owner: string | null;
    turns: number;
    tokens: number;
    costUsd: number;
    compactionCostUsd: number;
  }[];
  scannedSessions: number;
  scannedItems: number;
  partial: boolean;
  archivedSessions: number;
  archivedExcluded: number;
}

type Metric = "cost" | "tokens";
type GroupBy = "model" | "tenant";

function chartData(report: UsageReport, metric: Metric, by: GroupBy): ChartData {
  const xs: string[] = [];
  const end = new Date();
  for (let i = report.days - 1; i >= 0; i--)
    xs.push(new Date(end.getTime() - i * 86_400_000).toISOString().slice(0, 10));
  const index = new Map(xs.map((x, i) => [x, i]));
  const series = new Map<string, number[]>();
  for (const p of report.points) {
    const i = index.get(p.day);
    if (i === undefined) continue;
    const key = by === "model" ? p.model : p.tenant;
    const values = series.get(key) ?? xs.map(() => 0);
    values[i] = (values[i] ?? 0) + (metric === "cost" ? p.costUsd : p.inputTokens + p.outputTokens);
    series.set(key, values);
  }
  return { xs, series: [...series].map(([name, values]) => ({ name, values })) };
}

/** Usage: tokens and cost per day by model or tenant, and the sessions that cost the most. */
export async function renderUsage(ctx: ViewContext): Promise<void> {
  const days = Number(ctx.params.get("days") ?? "30") || 30;
  const metric: Metric = ctx.params.get("metric") === "tokens" ? "tokens" : "cost";
  const by: GroupBy = ctx.params.get("by") === "tenant" ? "tenant" : "model";
  const report = await api.get<UsageReport>(`usage${qs({ days })}`);
  const format = metric === "cost" ? (n: number) => fmtUsd(n) : (n: number) => fmtNumber(Math.round(n));
  const select = (id: string, label: string, value: string, options: [string, string][]): HTMLElement =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h(
        "select",
        { id, name: id },
        ...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
      ),
    );
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        ctx.navigate(
          `#/usage${qs({ days: String(data.get("days")), metric: String(data.get("metric")), by: String(data.get("by")) })}`,
        );
      },
    },
    select("days", "Period", String(days), [
      ["7", "7 days"],
      ["30", "30 days"],
      ["90", "90 days"],
    ]),
    select("metric", "Show", metric, [
      ["cost", "Cost (USD)"],
      ["tokens", "Tokens"],
    ]),
    select("by", "By", by, [
      ["model", "Model"],
      ["tenant", "Tenant"],
    ]),
    h("button", { type: "submit" }, "Apply"),
  );
  const totals = report.points.reduce(
    (t, p) => ({
      cost: t.cost + p.costUsd,
      tokens: t.tokens + p.inputTokens + p.outputTokens,
      turns: t.turns + p.turns,
      compactionCalls: t.compactionCalls + p.compactionCalls,
      compactionCost: t.compactionCost + p.compactionCostUsd,
    }),
    { cost: 0, tokens: 0, turns: 0, compactionCalls: 0, compactionCost: 0 },
  );
  const data = chartData(report, metric, by);
  ctx.main.replaceChildren(
    h("h1", {}, "Usage"),
    form,
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Cost"),
      h("dd", {}, fmtUsd(totals.cost)),
      h("dt", {}, "Tokens"),
      h("dd", {}, fmtNumber(totals.tokens)),
      h("dt", {}, "Turns"),
      h("dd", {}, fmtNumber(totals.turns)),
      // Part of the cost and tokens above, as in the usage route's `total`.
      h("dt", {}, "Compaction"),
      h(
        "dd",
        {},
        `${fmtUsd(totals.compactionCost)} (${fmtNumber(totals.compactionCalls)} summarizer ${totals.compactionCalls === 1 ? "call" : "calls"})`,
      ),
    ),
    h(
      "p",
      { class: "muted" },
      "Cost and tokens are those of stored turns, read from their response records, and include what compaction spent on summarizer calls, charged to the turn that triggered it. Calls that store nothing (store: false, stateless Chat Completions) leave no record here; the holdfast_cost_usd_total metric and the daily spend cap count them.",
    ),
    stackedBars(data, `${metric === "cost" ? "Cost" : "Tokens"} per day by ${by}`, format),
    report.partial
      ? h(
          "p",
          { class: "muted" },
          `Read from the ${fmtNumber(report.scannedSessions)} most recently active sessions (${fmtNumber(report.scannedItems)} items); older ones are not counted.`,
        )
      : "",
    report.archivedSessions > 0
      ? h(
          "p",
          { class: "muted" },
          `Includes ${fmtNumber(report.archivedSessions)} archived session(s), read from their archives (they stay archived).`,
        )
      : "",
    report.archivedExcluded > 0
      ? h(
          "p",
          { class: "warnings" },
          `${fmtNumber(report.archivedExcluded)} archived session(s) are not counted: their archives could not be read without restoring them.`,
        )
      : "",
    h(
      "details",
      {},
      h("summary", {}, "Chart data as a table"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Day", "Tenant", "Model", "Turns", "Input", "Output", "Cost", "Compaction"].map((c) =>
                h("th", { scope: "col" }, c),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            ...report.points.map((p) =>
              h(
                "tr",
                {},
                h("td", {}, p.day),
                h("td", {}, p.tenant),
                h("td", {}, p.model),
                h("td", { class: "num" }, p.turns),
                h("td", { class: "num" }, fmtNumber(p.inputTokens)),
                h("td", { class: "num" }, fmtNumber(p.outputTokens)),
                h("td", { class: "num" }, fmtUsd(p.costUsd)),
                h("td", { class: "num" }, p.compactionCalls ? fmtUsd(p.compactionCostUsd) : "—"),
              ),
            ),
          ),
        ),
      ),
    ),
    h("h2", {}, "Top sessions by cost"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Session", "Tenant", "Owner", "Turns", "Tokens", "Cost", "Compaction"].map((c) =>
              h("th", { scope: "col" }, c),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          ...report.topSessions.map((t) =>
            h(
              "tr",
              {},
              h(
                "td",
                {},
                h("a", { href: `#/session/${t.id}${qs({ tenant: t.tenant })}`, class: "mono" }, t.id),
              ),
              h("td", {}, t.tenant),
              h("td", { class: "wrap" }, t.owner ?? "—"),
              h("td", { class: "num" }, t.turns),
              h("td", { class: "num" }, fmtNumber(t.tokens)),
              h("td", { class: "num" }, fmtUsd(t.costUsd)),
              h("td", { class: "num" }, t.compactionCostUsd ? fmtUsd(t.compactionCostUsd) : "—"),
            ),
          ),
        ),
      ),
    ),
  );
}

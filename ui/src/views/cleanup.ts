import { api, qs } from "../api.ts";
import { action, fmtBytes, fmtNumber, fmtTime, h } from "../dom.ts";
import type { ViewContext } from "../main.ts";

interface Tally {
  sessions: number;
  items: number;
  bytes: number;
}

interface Action {
  action: string;
  reason: string;
  sessionId: string;
  owner: string | null;
  idleMs: number;
  items: number;
  bytes: number;
}

interface Preview {
  available: boolean;
  plan: {
    now: number;
    totals: Tally & { byReason: Record<string, Tally>; byAction: Record<string, Tally> };
    pinned: Tally;
    usage: { before: number; after: number };
    warnings: string[];
    actionCount: number;
    actions: Action[];
  } | null;
  stats: { runs: number; lastRunAt: number | null; bytesFreed: number } | null;
}

interface Report {
  planned: number;
  done: number;
  skipped: number;
  errors: number;
  itemsRemoved: number;
  bytesFreed: number;
}

function tallyTable(caption: string, key: string, rows: Record<string, Tally>): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, key),
          ...["Sessions", "Items", "Size"].map((c) => h("th", { scope: "col", class: "num" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        ...Object.entries(rows).map(([name, t]) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, name),
            h("td", { class: "num" }, fmtNumber(t.sessions)),
            h("td", { class: "num" }, fmtNumber(t.items)),
            h("td", { class: "num" }, fmtBytes(t.bytes)),
          ),
        ),
      ),
    ),
  );
}

function days(ms: number): string {
  return ms >= 86_400_000 ? `${(ms / 86_400_000).toFixed(1)} d` : `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * Cleanup: the lifecycle dry-run plan for the tenant, and enforcing it behind a confirmation.
 * `report`: the result of the enforce that just ran, shown above the plan re-read after it.
 */
export async function renderCleanup(ctx: ViewContext, report?: string): Promise<void> {
  const res = await api.get<Preview>(`cleanup${qs({ tenant: ctx.tenant })}`);
  const plan = res.plan;
  if (!res.available || !plan) {
    ctx.main.replaceChildren(
      h("h1", {}, "Cleanup"),
      h("p", { class: "muted" }, "No lifecycle sweeper is configured on this server."),
    );
    return;
  }
  const t = plan.totals;
  const dialog = h("dialog", { "aria-labelledby": "enforce-h" });
  // After an enforce the view is rebuilt under the keyboard's focus: the report takes it.
  const shown = report ? h("p", { class: "report", tabindex: -1 }, report) : null;
  const result = h("div", { "aria-live": "polite" }, shown);
  const enforce = h(
    "button",
    {
      type: "button",
      class: "danger",
      disabled: plan.actionCount === 0,
      onclick: () => dialog.showModal(),
    },
    "Enforce…",
  );
  dialog.append(
    h("h2", { id: "enforce-h" }, "Enforce the cleanup plan?"),
    h(
      "p",
      {},
      `${fmtNumber(plan.actionCount)} actions on ${fmtNumber(t.sessions)} sessions will free ${fmtBytes(t.bytes)}. Deleted sessions cannot be recovered; archived ones can be restored.`,
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: action(async () => {
            dialog.close();
            // A big sweep takes a while: say so, and allow no second run of the same plan meanwhile.
            enforce.disabled = true;
            result.replaceChildren(h("p", {}, `Enforcing ${fmtNumber(plan.actionCount)} actions…`));
            let report: Report;
            try {
              ({ report } = await api.post<{ report: Report }>(
                `cleanup/enforce${qs({ tenant: ctx.tenant })}`,
                { now: plan.now },
              ));
            } catch (error) {
              enforce.disabled = false;
              result.replaceChildren();
              throw error;
            }
            const text = `Done: ${report.done} of ${report.planned} actions, ${report.skipped} skipped, ${report.errors} errors, ${fmtBytes(report.bytesFreed)} freed.`;
            result.replaceChildren(h("p", { class: "report" }, text));
            // The plan on screen is now done: show what a dry run plans now (and the last sweep).
            await renderCleanup(ctx, text);
          }),
        },
        "Enforce now",
      ),
    ),
  );
  ctx.main.replaceChildren(
    h("h1", {}, "Cleanup"),
    h(
      "p",
      { class: "muted" },
      `Dry-run plan at ${fmtTime(plan.now)} for tenant ${ctx.tenant}. Nothing changes until you enforce it.`,
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Sessions"),
      h("dd", {}, fmtNumber(t.sessions)),
      h("dt", {}, "Items"),
      h("dd", {}, fmtNumber(t.items)),
      h("dt", {}, "Frees"),
      h("dd", {}, fmtBytes(t.bytes)),
      h("dt", {}, "Stored"),
      h("dd", {}, `${fmtBytes(plan.usage.before)} → ${fmtBytes(plan.usage.after)}`),
      h("dt", {}, "Pinned (kept)"),
      h("dd", {}, `${fmtNumber(plan.pinned.sessions)} sessions`),
      h("dt", {}, "Last sweep"),
      h("dd", {}, res.stats?.lastRunAt ? fmtTime(res.stats.lastRunAt) : "never (this instance)"),
    ),
    plan.warnings.length ? h("ul", { class: "warnings" }, ...plan.warnings.map((w) => h("li", {}, w))) : "",
    h("div", { class: "actions" }, enforce),
    result,
    dialog,
    tallyTable("By reason", "Reason", t.byReason),
    tallyTable("By action", "Action", t.byAction),
    h(
      "h2",
      {},
      plan.actionCount > plan.actions.length
        ? `First ${plan.actions.length} of ${fmtNumber(plan.actionCount)} actions`
        : "Actions",
    ),
    plan.actions.length === 0
      ? h("p", { class: "muted" }, "Nothing to clean up.")
      : h(
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
                ...["Session", "Owner", "Action", "Reason", "Idle", "Items", "Size"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              ...plan.actions.map((a) =>
                h(
                  "tr",
                  {},
                  h("td", {}, h("a", { href: `#/session/${a.sessionId}`, class: "mono" }, a.sessionId)),
                  h("td", { class: "wrap" }, a.owner ?? "—"),
                  h("td", {}, a.action),
                  h("td", {}, a.reason),
                  h("td", { class: "num" }, days(a.idleMs)),
                  h("td", { class: "num" }, fmtNumber(a.items)),
                  h("td", { class: "num" }, fmtBytes(a.bytes)),
                ),
              ),
            ),
          ),
        ),
  );
  shown?.focus();
}

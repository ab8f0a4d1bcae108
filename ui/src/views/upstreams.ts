import { api } from "../api.ts";
import { fmtNumber, h } from "../dom.ts";
import type { ViewContext } from "../main.ts";

interface Upstream {
  name: string;
  breaker: string;
  calls: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

function ms(seconds: number | null): string {
  return seconds === null ? "—" : `${Math.round(seconds * 1000)} ms`;
}

/** Upstreams: breaker state, calls, errors and latency percentiles (since the process started). */
export async function renderUpstreams(ctx: ViewContext): Promise<void> {
  const { upstreams } = await api.get<{ upstreams: Upstream[] }>("upstreams");
  ctx.main.replaceChildren(
    h("h1", {}, "Upstreams"),
    upstreams.length === 0
      ? h("p", { class: "muted" }, "No upstream is configured or observed yet.")
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
                ...["Upstream", "Breaker", "Calls", "Errors", "p50", "p95", "p99"].map((c) =>
                  h("th", { scope: "col" }, c),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              ...upstreams.map((u) =>
                h(
                  "tr",
                  {},
                  h("td", {}, u.name),
                  h(
                    "td",
                    {},
                    h("span", { class: `badge ${u.breaker === "closed" ? "ok" : "bad"}` }, u.breaker),
                  ),
                  h("td", { class: "num" }, fmtNumber(u.calls)),
                  h("td", { class: "num" }, fmtNumber(u.errors)),
                  h("td", { class: "num" }, ms(u.p50)),
                  h("td", { class: "num" }, ms(u.p95)),
                  h("td", { class: "num" }, ms(u.p99)),
                ),
              ),
            ),
          ),
        ),
    h("p", { class: "muted" }, "Latency percentiles are estimated from this instance's histogram buckets."),
  );
}

import { api, qs } from "../api.ts";
import { h } from "../dom.ts";
import type { ViewContext } from "../main.ts";

/** Cleanup: the lifecycle dry-run plan for the tenant, when the server provides one (read-only for now). */
export async function renderCleanup(ctx: ViewContext): Promise<void> {
  const res = await api.get<{ available: boolean; plan: unknown }>(`cleanup${qs({ tenant: ctx.tenant })}`);
  ctx.main.replaceChildren(
    h("h1", {}, "Cleanup"),
    res.available
      ? h(
          "section",
          {},
          h("h2", {}, "Dry-run plan"),
          h("pre", { class: "plan" }, JSON.stringify(res.plan, null, 2)),
        )
      : h(
          "p",
          { class: "muted" },
          "No retention planner is configured on this server; the dry-run plan will show here once it is.",
        ),
  );
}

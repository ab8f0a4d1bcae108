import { api, qs } from "../api.ts";
import { fmtBytes, fmtNumber, fmtTime, h } from "../dom.ts";
import type { ViewContext } from "../main.ts";

export interface SessionRow {
  id: string;
  owner: string | null;
  labels: string[];
  status: string;
  pinned: boolean;
  itemCount: number;
  tokenCount: number;
  bytes: number;
  createdAt: number;
  updatedAt: number;
  forkParent: { sessionId: string; atSeq: number } | null;
}

type SortKey = "createdAt" | "updatedAt" | "itemCount" | "tokenCount" | "bytes" | "owner";

const COLUMNS: ReadonlyArray<[SortKey | null, string]> = [
  [null, "Session"],
  ["owner", "Owner"],
  [null, "Labels"],
  [null, "Status"],
  ["itemCount", "Items"],
  ["tokenCount", "Tokens"],
  ["bytes", "Size"],
  ["updatedAt", "Updated"],
  ["createdAt", "Created"],
];

/** Sessions: filters map to store.list (owner, label, status, order); cursor pagination; sort within the page. */
export async function renderSessions(ctx: ViewContext): Promise<void> {
  const p = ctx.params;
  const filters = {
    owner: p.get("owner") ?? "",
    label: p.get("label") ?? "",
    status: p.get("status") ?? "",
    order: p.get("order") === "asc" ? "asc" : "desc",
    activeWithin: p.get("activeWithin") ?? "",
    idleFor: p.get("idleFor") ?? "",
    q: p.get("q") ?? "",
  };
  const cursor = p.get("cursor") ?? "";
  const prev = p.getAll("prev");
  const page = await api.get<{ data: SessionRow[]; nextCursor: string | null }>(
    `sessions${qs({ tenant: ctx.tenant, ...filters, cursor, limit: 50 })}`,
  );
  const go = (extra: Record<string, string | string[]>): void => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...filters, ...extra })) {
      for (const value of Array.isArray(v) ? v : [v]) if (value) search.append(k, value);
    }
    ctx.navigate(`#/sessions?${search}`);
  };

  const field = (name: keyof typeof filters, label: string, type = "text"): HTMLElement =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `f-${name}` }, label),
      h("input", { id: `f-${name}`, name, type, value: filters[name] }),
    );
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        const next: Record<string, string> = {};
        for (const [k, v] of data) next[k] = String(v).trim();
        go(next);
      },
    },
    field("q", "Session id"),
    field("owner", "Owner"),
    field("label", "Label"),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-status" }, "Status"),
      h(
        "select",
        { id: "f-status", name: "status" },
        ...["", "active", "archived"].map((v) =>
          h("option", { value: v, selected: v === filters.status }, v || "any"),
        ),
      ),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-order" }, "Created"),
      h(
        "select",
        { id: "f-order", name: "order" },
        h("option", { value: "desc", selected: filters.order === "desc" }, "newest first"),
        h("option", { value: "asc", selected: filters.order === "asc" }, "oldest first"),
      ),
    ),
    ageSelect("activeWithin", "Active within", filters.activeWithin),
    ageSelect("idleFor", "Idle for at least", filters.idleFor),
    h("button", { type: "submit" }, "Apply"),
  );

  let sortKey: SortKey | null = null;
  let sortDir: 1 | -1 = -1;
  const tbody = h("tbody");
  const headRow = h("tr");
  const drawRows = (): void => {
    const rows = [...page.data];
    if (sortKey) {
      const key = sortKey;
      rows.sort((a, b) => {
        const x = a[key] ?? "";
        const y = b[key] ?? "";
        return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      });
    }
    tbody.replaceChildren(
      ...rows.map((row) =>
        h(
          "tr",
          {},
          h(
            "td",
            {},
            h("a", { href: `#/session/${row.id}`, class: "mono" }, row.id),
            row.forkParent ? h("span", { class: "badge" }, "fork") : null,
            row.pinned ? h("span", { class: "badge" }, "pinned") : null,
          ),
          h("td", {}, row.owner ?? "—"),
          h("td", {}, ...row.labels.map((l) => h("span", { class: "chip" }, l))),
          h("td", {}, row.status),
          h("td", { class: "num" }, fmtNumber(row.itemCount)),
          h("td", { class: "num" }, fmtNumber(row.tokenCount)),
          h("td", { class: "num" }, fmtBytes(row.bytes)),
          h("td", {}, fmtTime(row.updatedAt)),
          h("td", {}, fmtTime(row.createdAt)),
        ),
      ),
    );
    headRow.replaceChildren(
      ...COLUMNS.map(([key, label]) => {
        if (!key) return h("th", { scope: "col" }, label);
        const current = sortKey === key;
        return h(
          "th",
          { scope: "col", "aria-sort": current ? (sortDir === 1 ? "ascending" : "descending") : "none" },
          h(
            "button",
            {
              type: "button",
              class: "sort",
              onclick: () => {
                sortDir = current ? (sortDir === 1 ? -1 : 1) : -1;
                sortKey = key;
                drawRows();
              },
            },
            label,
            h("span", { "aria-hidden": "true" }, current ? (sortDir === 1 ? " ▲" : " ▼") : ""),
          ),
        );
      }),
    );
  };
  drawRows();

  const pager = h(
    "div",
    { class: "pager" },
    prev.length > 0 || cursor
      ? h(
          "button",
          { type: "button", onclick: () => go({ cursor: prev.at(-1) ?? "", prev: prev.slice(0, -1) }) },
          "← Previous",
        )
      : null,
    page.nextCursor
      ? h(
          "button",
          { type: "button", onclick: () => go({ cursor: page.nextCursor ?? "", prev: [...prev, cursor] }) },
          "Next →",
        )
      : null,
  );
  ctx.main.replaceChildren(
    h("h1", {}, "Sessions"),
    form,
    page.data.length === 0
      ? h("p", { class: "muted" }, "No sessions match.")
      : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h("caption", { class: "sr-only" }, "Sessions, sortable by column"),
            h("thead", {}, headRow),
            tbody,
          ),
        ),
    pager,
  );
}

const AGES: ReadonlyArray<[string, string]> = [
  ["", "any time"],
  ["1", "1 hour"],
  ["24", "1 day"],
  ["168", "7 days"],
  ["720", "30 days"],
  ["2160", "90 days"],
];

function ageSelect(name: string, label: string, value: string): HTMLElement {
  return h(
    "div",
    { class: "field" },
    h("label", { for: `f-${name}` }, label),
    h(
      "select",
      { id: `f-${name}`, name },
      ...AGES.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
    ),
  );
}

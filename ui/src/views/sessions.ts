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

/** Server-side sort keys (store `ListQuery.sort`): sorting is correct across pages. */
type SortKey = "created" | "updated" | "items" | "bytes";

const SORT_LABELS: Readonly<Record<SortKey, string>> = {
  created: "created",
  updated: "last update",
  items: "items",
  bytes: "size",
};

const COLUMNS: ReadonlyArray<[SortKey | null, string]> = [
  [null, "Session"],
  [null, "Owner"],
  [null, "Labels"],
  [null, "Status"],
  ["items", "Items"],
  [null, "Tokens"],
  ["bytes", "Size"],
  ["updated", "Updated"],
  ["created", "Created"],
];

const FILTERS = [
  "q",
  "owner",
  "label",
  "status",
  "model",
  "createdWithin",
  "olderThan",
  "activeWithin",
  "idleFor",
  "minBytes",
  "maxBytes",
  "sort",
  "order",
  // Page size (default 50); kept in the URL but not a form field.
  "limit",
] as const;
type FilterName = (typeof FILTERS)[number];

/**
 * Sessions: every filter and the sort go to the server (store.list with keyset cursors), so a
 * sorted listing is right across pages; Previous/Next keep the cursor trail in the URL.
 */
export async function renderSessions(ctx: ViewContext): Promise<void> {
  const p = ctx.params;
  const filters = Object.fromEntries(FILTERS.map((k) => [k, p.get(k) ?? ""])) as Record<FilterName, string>;
  const sort: SortKey = (Object.keys(SORT_LABELS) as SortKey[]).includes(filters.sort as SortKey)
    ? (filters.sort as SortKey)
    : "created";
  const order = filters.order === "asc" ? "asc" : "desc";
  const cursor = p.get("cursor") ?? "";
  const prev = p.getAll("prev");
  const page = await api.get<{
    data: SessionRow[];
    nextCursor: string | null;
    scanned?: number;
    archivedUnchecked?: number;
  }>(`sessions${qs({ tenant: ctx.tenant, ...filters, cursor, limit: filters.limit || 50 })}`);
  const go = (extra: Record<string, string | string[]>): void => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...filters, ...extra })) {
      for (const value of Array.isArray(v) ? v : [v]) if (value) search.append(k, value);
    }
    ctx.navigate(`#/sessions?${search}`);
  };

  const field = (name: FilterName, label: string, attrs: Record<string, string> = {}): HTMLElement =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `f-${name}` }, label),
      h("input", { id: `f-${name}`, name, type: "text", value: filters[name], ...attrs }),
    );
  const select = (name: FilterName, label: string, options: ReadonlyArray<[string, string]>): HTMLElement =>
    h(
      "div",
      { class: "field" },
      h("label", { for: `f-${name}` }, label),
      h(
        "select",
        { id: `f-${name}`, name },
        ...options.map(([v, text]) => h("option", { value: v, selected: v === filters[name] }, text)),
      ),
    );
  const form = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filter and sort sessions",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        const next: Record<string, string> = {};
        for (const [k, v] of data) next[k] = String(v).trim();
        // New filters start from the first page.
        go({ ...next, cursor: "", prev: [] });
      },
    },
    field("q", "Session id"),
    field("owner", "Owner"),
    field("label", "Label"),
    select("status", "Status", [
      ["", "any"],
      ["active", "active"],
      ["archived", "archived"],
    ]),
    field("model", "Model", { placeholder: "e.g. gpt-4o" }),
    select("createdWithin", "Created within", AGES),
    select("olderThan", "Created before", AGES_AGO),
    select("activeWithin", "Active within", AGES),
    select("idleFor", "Idle for at least", AGES),
    select("minBytes", "Size at least", SIZES),
    select("maxBytes", "Size at most", SIZES),
    select(
      "sort",
      "Sort by",
      (Object.entries(SORT_LABELS) as [SortKey, string][]).map(([k, v]) => [k === "created" ? "" : k, v]),
    ),
    select("order", "Order", [
      ["", "descending"],
      ["asc", "ascending"],
    ]),
    h("button", { type: "submit" }, "Apply"),
  );

  const headRow = h(
    "tr",
    {},
    ...COLUMNS.map(([key, label]) => {
      if (!key) return h("th", { scope: "col" }, label);
      const current = sort === key;
      const next = current && order === "desc" ? "asc" : "desc";
      return h(
        "th",
        { scope: "col", "aria-sort": current ? (order === "asc" ? "ascending" : "descending") : "none" },
        h(
          "button",
          {
            type: "button",
            class: "sort",
            onclick: () =>
              go({
                sort: key === "created" ? "" : key,
                order: next === "asc" ? "asc" : "",
                cursor: "",
                prev: [],
              }),
          },
          label,
          h("span", { "aria-hidden": "true" }, current ? (order === "asc" ? " ▲" : " ▼") : ""),
        ),
      );
    }),
  );
  const tbody = h(
    "tbody",
    {},
    ...page.data.map((row) =>
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
        h("td", { class: "wrap" }, row.owner ?? "—"),
        h("td", { class: "wrap" }, ...row.labels.map((l) => h("span", { class: "chip" }, l))),
        h("td", {}, row.status),
        h("td", { class: "num" }, fmtNumber(row.itemCount)),
        h("td", { class: "num" }, fmtNumber(row.tokenCount)),
        h("td", { class: "num" }, fmtBytes(row.bytes)),
        h("td", {}, fmtTime(row.updatedAt)),
        h("td", {}, fmtTime(row.createdAt)),
      ),
    ),
  );

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
  const scanNote =
    page.scanned !== undefined
      ? h(
          "p",
          { class: "muted", id: "model-scan" },
          `Model filter: checked ${fmtNumber(page.scanned)} sessions (their latest turns) for this page` +
            (page.nextCursor ? "; Next checks more." : "; no more sessions.") +
            (page.archivedUnchecked
              ? ` ${fmtNumber(page.archivedUnchecked)} archived session(s) among them could not be read without restoring them and are not listed.`
              : ""),
        )
      : null;
  ctx.main.replaceChildren(
    h("h1", {}, "Sessions"),
    form,
    scanNote ?? "",
    page.data.length === 0
      ? h("p", { class: "muted" }, "No sessions match.")
      : h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            {},
            h(
              "caption",
              { class: "sr-only" },
              `Sessions sorted by ${SORT_LABELS[sort]}, ${order === "asc" ? "ascending" : "descending"}`,
            ),
            h("thead", {}, headRow),
            tbody,
          ),
        ),
    pager,
  );
}

const SIZES: ReadonlyArray<[string, string]> = [
  ["", "any size"],
  ["1024", "1 KB"],
  ["10240", "10 KB"],
  ["102400", "100 KB"],
  ["1048576", "1 MB"],
  ["10485760", "10 MB"],
];

const AGES_AGO: ReadonlyArray<[string, string]> = [
  ["", "any time"],
  ["1", "1 hour ago"],
  ["24", "1 day ago"],
  ["168", "7 days ago"],
  ["720", "30 days ago"],
  ["2160", "90 days ago"],
];

const AGES: ReadonlyArray<[string, string]> = [
  ["", "any time"],
  ["1", "1 hour"],
  ["24", "1 day"],
  ["168", "7 days"],
  ["720", "30 days"],
  ["2160", "90 days"],
];

import { api, qs } from "../api.ts";
import { action, announce, fmtNumber, fmtTime, fmtUsd, h } from "../dom.ts";
import type { ViewContext } from "../main.ts";
import { type Turn, turnTable, turnTotals } from "./session-turns.ts";
import type { SessionRow } from "./sessions.ts";

interface Entry {
  seq: number;
  id: string;
  kind: "message" | "tool_call" | "tool_output" | "summary" | "reasoning" | "other";
  type: string;
  role: string | null;
  text: string;
  tokens: number;
  createdAt: number;
  callId?: string;
  name?: string;
  arguments?: string;
  covers?: { fromSeq: number; toSeq: number };
}

interface SessionDetail {
  session: SessionRow & { metadata: Record<string, string> };
  entries: Entry[];
  turns: Turn[];
  /** Older items the answer left out (it holds the newest items up to a count and size limit). */
  omittedItems: number;
  window: {
    source: "engine" | "store";
    model: string | null;
    budget: number;
    tokens: number;
    seqs: number[];
    droppedCount: number;
    summaryUsed: boolean;
    pruned: { seq: number; action: string; tokensSaved: number }[];
    note: string | null;
  };
}

/** One session: the transcript as a chat, the next window, turns with tokens and cost, actions. */
export async function renderSession(ctx: ViewContext, id: string): Promise<void> {
  const windowTokens = ctx.params.get("windowTokens") ?? "";
  const windowModel = ctx.params.get("model") ?? "";
  const [detail, forks] = await Promise.all([
    api.get<SessionDetail>(
      `sessions/${encodeURIComponent(id)}${qs({ tenant: ctx.tenant, windowTokens, model: windowModel })}`,
    ),
    api.get<{ data: SessionRow[]; nextCursor: string | null }>(
      `sessions/${encodeURIComponent(id)}/forks${qs({ tenant: ctx.tenant, limit: 50 })}`,
    ),
  ]);
  const { session, entries, turns } = detail;
  const win = detail.window;
  const inWindow = new Set(win.seqs);
  const pruned = new Set(win.pruned.map((p) => p.seq));
  const outputs = new Map(
    entries.filter((e) => e.kind === "tool_output" && e.callId).map((e) => [e.callId!, e]),
  );
  const pairedOutputs = new Set<string>();
  const compacted = new Set<number>();
  for (const e of entries)
    if (e.covers) for (let s = e.covers.fromSeq; s <= e.covers.toSeq; s++) compacted.add(s);

  const marks = (e: Entry): HTMLElement =>
    h(
      "div",
      { class: "meta" },
      h("span", {}, `#${e.seq}`),
      h("span", {}, `${fmtNumber(e.tokens)} tok`),
      inWindow.has(e.seq)
        ? h("span", { class: "badge ok" }, "in next window")
        : h("span", { class: "badge" }, "not sent"),
      compacted.has(e.seq) ? h("span", { class: "badge" }, "summarized") : null,
      pruned.has(e.seq) ? h("span", { class: "badge" }, "pruned") : null,
    );

  const chat = h("ol", { class: "chat", "aria-label": "Transcript" });
  for (const e of entries) {
    if (e.kind === "tool_output" && e.callId && pairedOutputs.has(e.callId)) continue;
    if (e.kind === "message") {
      chat.append(
        h(
          "li",
          { class: `msg ${e.role ?? "other"}`, "data-seq": e.seq },
          h("div", { class: "who" }, e.role ?? "message"),
          h("div", { class: "text" }, e.text),
          marks(e),
        ),
      );
    } else if (e.kind === "tool_call") {
      const out = e.callId ? outputs.get(e.callId) : undefined;
      if (out && e.callId) pairedOutputs.add(e.callId);
      chat.append(
        h(
          "li",
          { class: "msg tool", "data-seq": e.seq },
          h(
            "details",
            {},
            h(
              "summary",
              {},
              h("span", { class: "who" }, "tool call"),
              " ",
              h("code", {}, `${e.name ?? "?"}(${e.arguments ?? ""})`),
              out ? "" : " — no output yet",
            ),
            out
              ? h("div", {}, h("div", { class: "who" }, `output #${out.seq}`), h("pre", {}, out.text))
              : null,
          ),
          marks(e),
        ),
      );
    } else if (e.kind === "tool_output") {
      chat.append(
        h(
          "li",
          { class: "msg tool", "data-seq": e.seq },
          h("div", { class: "who" }, "tool output (no call)"),
          h("pre", {}, e.text),
          marks(e),
        ),
      );
    } else if (e.kind === "summary") {
      const range = e.covers ? `replaces #${e.covers.fromSeq}–#${e.covers.toSeq}` : "summary";
      chat.append(
        h(
          "li",
          { class: "msg summary", "data-seq": e.seq },
          h("div", { class: "who" }, `Summary — ${range}`),
          h("div", { class: "text" }, e.text),
          marks(e),
        ),
      );
    } else if (e.kind === "reasoning") {
      chat.append(
        h(
          "li",
          { class: "msg reasoning", "data-seq": e.seq },
          h("details", {}, h("summary", {}, "reasoning"), h("div", { class: "text" }, e.text)),
          marks(e),
        ),
      );
    } else {
      chat.append(
        h("li", { class: "msg other", "data-seq": e.seq }, h("div", { class: "who" }, e.type), marks(e)),
      );
    }
  }

  const totals = turnTotals(turns);

  const base = `sessions/${encodeURIComponent(id)}`;
  const compactText = h("p", {});
  const compactDialog = h("dialog", { "aria-labelledby": "compact-h" });
  compactDialog.append(
    h("h2", { id: "compact-h" }, "Compact this session?"),
    compactText,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => compactDialog.close() }, "Cancel"),
      h(
        "button",
        {
          type: "button",
          onclick: action(async () => {
            compactDialog.close();
            const keep = Number((document.getElementById("compact-keep") as HTMLInputElement).value);
            const { result } = await api.post<{
              result: {
                compacted: boolean;
                reason: string | null;
                tokensBefore: number;
                tokensAfter: number;
              };
            }>(`${base}/compact${qs({ tenant: ctx.tenant })}`, { keepRecentTokens: keep });
            await renderSession(ctx, id);
            announce(
              result.compacted
                ? `Compacted: ${fmtNumber(result.tokensBefore)} → ${fmtNumber(result.tokensAfter)} tokens.`
                : `Nothing to compact: ${result.reason ?? "the session is already small"}.`,
            );
          }),
        },
        "Compact now",
      ),
    ),
  );
  const actions = h(
    "div",
    { class: "actions" },
    h(
      "a",
      {
        class: "button",
        href: `/ui/api/${base}/export${qs({ tenant: ctx.tenant })}`,
        download: `${id}.jsonl`,
      },
      "Export JSONL",
    ),
    h(
      "button",
      {
        type: "button",
        onclick: action(async () => {
          const { session: fork } = await api.post<{ session: SessionRow }>(
            `${base}/fork${qs({ tenant: ctx.tenant })}`,
          );
          announce(`Forked into ${fork.id}.`);
          ctx.navigate(`#/session/${fork.id}`, { keepStatus: true });
        }),
      },
      "Fork",
    ),
    h(
      "form",
      {
        class: "inline compact",
        "aria-label": "Compact",
        onsubmit: (event: Event) => {
          event.preventDefault();
          const keep = Number((document.getElementById("compact-keep") as HTMLInputElement).value);
          compactText.textContent = `Items older than the newest ${fmtNumber(keep)} tokens are summarized into one summary item (the built-in summarizer, as “holdfast sessions compact” does). The originals stay stored; the next window starts from the summary.`;
          compactDialog.showModal();
        },
      },
      h(
        "div",
        { class: "field" },
        h("label", { for: "compact-keep" }, "Keep recent tokens"),
        h("input", { id: "compact-keep", type: "number", min: 1, required: true, value: 8000 }),
      ),
      h("button", { type: "submit" }, "Compact…"),
    ),
    h(
      "button",
      {
        type: "button",
        class: "danger",
        onclick: action(async () => {
          if (!window.confirm(`Delete session ${id}? This cannot be undone.`)) return;
          await api.del(`${base}${qs({ tenant: ctx.tenant })}`);
          announce(`Deleted ${id}.`);
          ctx.navigate("#/sessions", { keepStatus: true });
        }),
      },
      "Delete",
    ),
  );

  const windowForm = h(
    "form",
    {
      class: "inline",
      onsubmit: (event: Event) => {
        event.preventDefault();
        const tokens = (document.getElementById("window-tokens") as HTMLInputElement).value;
        const model = (document.getElementById("window-model") as HTMLInputElement).value.trim();
        ctx.navigate(`#/session/${id}${qs({ model, windowTokens: tokens })}`);
      },
    },
    h(
      "div",
      { class: "field" },
      h("label", { for: "window-model" }, "Model"),
      h("input", { id: "window-model", value: win.model ?? "", placeholder: "latest turn's model" }),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "window-tokens" }, "Input cap (tokens, optional)"),
      // The API's range for windowTokens (src/ui/api.ts): the form refuses more before asking it,
      // instead of the whole view turning into an error page.
      h("input", { id: "window-tokens", type: "number", min: 1, max: 2_000_000, value: windowTokens }),
    ),
    h("button", { type: "submit" }, "Recompute"),
  );

  const s = session;
  ctx.main.replaceChildren(
    h("p", {}, h("a", { href: "#/sessions" }, "← Sessions")),
    h("h1", { class: "mono wrap" }, s.id),
    h(
      "dl",
      { class: "facts" },
      ...fact("Owner", s.owner ?? "—"),
      ...fact("Labels", s.labels.join(", ") || "—"),
      // Conversation metadata (OpenAI's `metadata`): the keys and values a client set, as text.
      ...fact(
        "Metadata",
        Object.entries(s.metadata ?? {})
          .map(([key, value]) => `${key}=${value}`)
          .join(", ") || "—",
      ),
      ...fact("Status", s.status),
      ...fact("Items", fmtNumber(s.itemCount)),
      ...fact("Tokens", fmtNumber(s.tokenCount)),
      ...fact("Updated", fmtTime(s.updatedAt)),
      // The turns of the items shown: older ones left out are not counted.
      // Compaction's summarizer calls included, as the usage route's `total`; their share apart.
      ...fact(detail.omittedItems > 0 ? "Cost (items shown)" : "Cost", fmtUsd(totals.cost)),
      ...(totals.compactionCalls > 0
        ? fact(
            "Compaction",
            `${fmtUsd(totals.compactionCost)} (${fmtNumber(totals.compactionCalls)} summarizer ${totals.compactionCalls === 1 ? "call" : "calls"})`,
          )
        : []),
      ...(s.forkParent
        ? [
            h("dt", {}, "Forked from"),
            h(
              "dd",
              {},
              h("a", { href: `#/session/${s.forkParent.sessionId}`, class: "mono" }, s.forkParent.sessionId),
              ` at #${s.forkParent.atSeq}`,
            ),
          ]
        : []),
    ),
    actions,
    compactDialog,
    h(
      "section",
      { "aria-labelledby": "win-h" },
      h("h2", { id: "win-h" }, "Next window"),
      h(
        "p",
        { class: "window-summary" },
        `${fmtNumber(win.tokens)} of ${fmtNumber(win.budget)} input tokens`,
        win.model ? ` for ${win.model}` : "",
        `: ${win.seqs.length} items sent, ${win.droppedCount} stored items left out`,
        win.summaryUsed ? " (a summary stands in for older items)" : "",
        win.pruned.length ? `, ${win.pruned.length} tool outputs pruned` : "",
        ".",
      ),
      win.note ? h("p", { class: "muted" }, win.note) : "",
      windowForm,
    ),
    h(
      "section",
      { "aria-labelledby": "forks-h" },
      h("h2", { id: "forks-h" }, "Forks"),
      s.forkParent
        ? h(
            "p",
            {},
            "Forked from ",
            h("a", { href: `#/session/${s.forkParent.sessionId}`, class: "mono" }, s.forkParent.sessionId),
            ` at item #${s.forkParent.atSeq}.`,
          )
        : null,
      forks.data.length === 0
        ? h("p", { class: "muted" }, "No forks of this session.")
        : h(
            "ul",
            { class: "forks", "aria-label": "Forks of this session" },
            ...forks.data.map((f) =>
              h(
                "li",
                {},
                h("a", { href: `#/session/${f.id}`, class: "mono" }, f.id),
                ` at #${f.forkParent?.atSeq ?? 0} — ${fmtNumber(f.itemCount)} items, created ${fmtTime(f.createdAt)}`,
              ),
            ),
          ),
      forks.nextCursor ? h("p", { class: "muted" }, "More than 50 forks; the first 50 are listed.") : null,
    ),
    h(
      "section",
      { "aria-labelledby": "tr-h" },
      h("h2", { id: "tr-h" }, "Transcript"),
      detail.omittedItems > 0
        ? h(
            "p",
            { class: "muted", id: "transcript-omitted" },
            `${fmtNumber(detail.omittedItems)} older ${detail.omittedItems === 1 ? "item is" : "items are"} not shown: the view loads the newest items up to a size limit, and the turns and cost below cover those only. Export JSONL has every item.`,
          )
        : null,
      chat,
    ),
    h(
      "section",
      { "aria-labelledby": "turns-h" },
      h("h2", { id: "turns-h" }, "Tokens and cost per turn"),
      turns.length ? turnTable(turns, totals) : h("p", { class: "muted" }, "No turns recorded."),
    ),
  );
}

function fact(label: string, value: string): HTMLElement[] {
  return [h("dt", {}, label), h("dd", {}, value)];
}

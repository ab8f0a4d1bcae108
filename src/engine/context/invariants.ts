/**
 * Checks a built window against the window invariants of ARCHITECTURE.md (used by the property
 * tests and `npm run eval:context`; cheap enough for debug assertions in the gateway).
 */
import type { Item } from "../../store/types.ts";
import { callIdOf, isCall, isOutput, isPinned, isUserMessage, PINNED_ROLES, roleOf } from "./items.ts";
import { isSummaryItem, readCovers } from "./summary.ts";
import { OMITTED_ITEM_ID } from "./window.ts";

export interface WindowLike {
  items: readonly Item[];
  tokens: number;
  budget: number;
}

/** Returns one message per violated invariant (empty when the window is valid). */
export function checkWindowInvariants(
  history: readonly Item[],
  window: WindowLike,
  alternation = false,
): string[] {
  const problems: string[] = [];
  if (window.tokens > window.budget) problems.push(`tokens ${window.tokens} exceed budget ${window.budget}`);
  const sum = window.items.reduce((s, item) => s + item.tokens, 0);
  if (sum > window.budget) problems.push(`item tokens ${sum} exceed budget ${window.budget}`);

  let latestSummary: Item | null = null;
  for (const item of history) if (isSummaryItem(item)) latestSummary = item;
  const covers = latestSummary ? readCovers(latestSummary.content) : null;
  const ids = new Set(window.items.map((i) => i.id));
  const byId = new Map(history.map((i) => [i.id, i]));

  // Messages between a call and its output: the only items alternation may leave out.
  const inSpan = new Set<string>();
  const answered = new Set(history.filter(isOutput).map(callIdOf));
  const spans = new Set<string>();
  for (const item of history) {
    const id = callIdOf(item);
    if (isCall(item) && id !== null && answered.has(id)) spans.add(id);
    else if (isOutput(item) && id !== null) spans.delete(id);
    else if (spans.size > 0) inSpan.add(item.id);
  }
  for (const item of history) {
    if (isPinned(item) && !ids.has(item.id) && !(alternation && inSpan.has(item.id))) {
      problems.push(`pinned item ${item.seq} missing`);
    }
  }
  // No gaps: every message newer than the oldest verbatim item sent is sent too.
  const firstSent = window.items.find((i) => i.id !== OMITTED_ITEM_ID && !isSummaryItem(i) && !isPinned(i));
  if (firstSent) {
    for (const item of history) {
      if (item.seq <= firstSent.seq || item.type !== "message" || ids.has(item.id)) continue;
      if (alternation && inSpan.has(item.id)) continue;
      problems.push(`message ${item.seq} left out of the middle of the window`);
    }
  }
  if (latestSummary && !ids.has(latestSummary.id)) problems.push("latest summary missing");

  let lastPos = -Infinity;
  const calls = new Set<string>();
  const outputs = new Set<string>();
  for (const item of window.items) {
    if (item.id === OMITTED_ITEM_ID) continue;
    const stored = byId.get(item.id);
    if (!stored || stored.seq !== item.seq) problems.push(`item ${item.id} is not from the history`);
    const pos = isSummaryItem(item) ? (readCovers(item.content)?.toSeq ?? 0) + 0.5 : item.seq;
    if (pos <= lastPos) problems.push(`reordered at seq ${item.seq}`);
    lastPos = pos;
    if (covers && !isSummaryItem(item) && !isPinned(item) && item.seq <= covers.toSeq) {
      problems.push(`seq ${item.seq} is covered by the summary but was sent`);
    }
    const id = callIdOf(item);
    if (isCall(item) && id !== null) calls.add(id);
    if (isOutput(item)) {
      if (id === null || !calls.has(id)) problems.push(`orphan output at seq ${item.seq}`);
      else outputs.add(id);
    }
  }
  for (const id of calls) {
    const answered = history.some((i) => isOutput(i) && callIdOf(i) === id);
    if (answered && !outputs.has(id)) problems.push(`call ${id} sent without its output`);
  }
  const first = window.items[0];
  if (first && isOutput(first)) problems.push("window starts with an output");

  if (alternation) {
    const opener = window.items.find((i) => !(i.type === "message" && PINNED_ROLES.has(roleOf(i) ?? "")));
    if (opener && !isUserMessage(opener) && !isSummaryItem(opener)) {
      problems.push(`first conversational item is ${opener.type}/${roleOf(opener)}, not user`);
    }
    const open = new Set<string>();
    for (const item of window.items) {
      const id = callIdOf(item);
      if (isCall(item) && id !== null) open.add(id);
      else if (isOutput(item) && id !== null) open.delete(id);
      else if (open.size > 0 && item.type !== "reasoning") {
        problems.push(`seq ${item.seq} sits between a tool call and its result`);
      }
    }
  }
  return problems;
}

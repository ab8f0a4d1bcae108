/**
 * What a turn sends upstream. The store's window (an index lookup on running token totals) is
 * read with headroom, pinned items from the head of the session are added, and the context
 * engine fits it to the model: the latest summary stands in for what it covers, old tool
 * outputs are pruned, call/output pairs stay whole, and Anthropic's alternation holds.
 */
import { HoldfastError, InvalidArgumentError } from "../../store/errors.ts";
import { TEXT_PART_TYPES } from "../../store/tokens.ts";
import type { Item, JsonObject, SessionStore } from "../../store/types.ts";
import { isPlainObject } from "../../store/validate.ts";
import type { ModelInfo as CatalogModel } from "../context/catalog.ts";
import { callIdOf, isCall, isOutput, isPinned } from "../context/items.ts";
import { isSummaryItem, readCovers, toModelInput } from "../context/summary.ts";
import { createTokenCounter } from "../context/token-counter.ts";
import { buildWindow } from "../context/window.ts";
import { buildWindowIndex, ROLE_EXCLUDED } from "../context/window-index.ts";
import type { InputItem } from "../providers/types.ts";
import type { TurnPlan } from "./plan.ts";
import { NOT_SENT_ITEM_TYPES } from "./record.ts";

/** How much more than the budget the store window reads, so summaries and pruning have room. */
const HEADROOM = 2;
/** Pinned items (system prompts) are looked for among the first items of a session. */
const HEAD_ITEMS = 16;
const EXCLUDED_TYPES: readonly string[] = [...NOT_SENT_ITEM_TYPES];

export interface TurnHistory {
  input: InputItem[];
  /**
   * Tokens the model would receive before pruning: the latest summary plus everything after what
   * it covers (the automatic compaction signal; covered originals do not count).
   */
  uncoveredTokens: number;
  /** Tokens of `input` as the window counted them (the usage estimate when the upstream reports none). */
  tokens: number;
  /** Whether stored items were left out (older than the window, or pruned away). */
  truncated: boolean;
  /**
   * For each item of `input`, its index in the request's `input`, or null for history: what
   * providers refuse with a `param` into the request, and what they only leave a note for.
   */
  origin: (number | null)[];
}

/** Seq of the pseudo item standing for the request's input item `i` when the turn writes nothing. */
function pseudoSeq(plan: TurnPlan, i: number): number {
  return Number.MAX_SAFE_INTEGER - plan.request.input.length + i;
}

function hasMedia(parts: unknown): boolean {
  return (
    Array.isArray(parts) && parts.some((p) => isPlainObject(p) && !TEXT_PART_TYPES.has(p.type as string))
  );
}

/**
 * Tokens of a request item no store counted (the turn writes nothing). Text: the store's estimate,
 * JSON length / 4. With an image, file or audio part, the model's counter: base64 counted as text
 * is a token per 4 bytes (a 700 KB photo, 179k tokens) and would fail any window the model reads
 * the image in (a few hundred tokens).
 */
function pseudoTokens(content: JsonObject, model: CatalogModel): number {
  if (hasMedia(content.content) || hasMedia(content.output)) return createTokenCounter(model)(content);
  return Math.ceil(JSON.stringify(content).length / 4);
}

function pseudoItems(plan: TurnPlan, model: CatalogModel): Item[] {
  return plan.request.input.map((input, i) => ({
    seq: pseudoSeq(plan, i),
    id: input.id ?? `input_${i}`,
    type: String(input.content.type),
    role: typeof input.content.role === "string" ? input.content.role : null,
    status: null,
    content: input.content,
    tokens: pseudoTokens(input.content, model),
    bytes: 0,
    turnId: null,
    createdAt: 0,
  }));
}

async function storedItems(
  store: SessionStore,
  plan: TurnPlan,
  model: CatalogModel,
  budget: number,
): Promise<{ items: Item[]; truncated: boolean }> {
  const { tenant, sessionId } = plan;
  if (!sessionId) return { items: pseudoItems(plan, model), truncated: false };
  if (plan.historyUntilSeq !== null) {
    // store:false continuing a response: history up to it (read-only), then this request's input.
    const older = await store.readItems(tenant, sessionId, {
      beforeSeq: plan.historyUntilSeq + 1,
      order: "desc",
      limit: 2_000,
    });
    older.reverse();
    return {
      items: [...older, ...pseudoItems(plan, model)],
      truncated: older[0]?.seq !== 1 && older.length > 0,
    };
  }
  // Records are skipped by the store: they are most of a conversation's bytes and never sent.
  const window = await store.readWindow(tenant, sessionId, {
    maxTokens: budget * HEADROOM,
    excludeTypes: EXCLUDED_TYPES,
  });
  let items = window.items;
  if (window.fromSeq > 1 || (window.items.length === 0 && window.truncated)) {
    const head = await store.readItems(tenant, sessionId, { limit: HEAD_ITEMS });
    items = [
      ...head.filter((i) => isPinned(i) && i.seq < (window.fromSeq || Number.MAX_SAFE_INTEGER)),
      ...items,
    ];
  }
  return { items, truncated: window.truncated };
}

/** How a history is loaded: the output and reserve it leaves room for, and where the turn's input was written. */
export interface HistoryOptions {
  maxOutputTokens: number;
  reserve: number;
  /** The seqs the write-ahead append gave the request's input items, in order; null when nothing was written. */
  inputSeqs: readonly number[] | null;
}

export async function loadHistory(
  store: SessionStore,
  plan: TurnPlan,
  model: CatalogModel,
  options: HistoryOptions,
): Promise<TurnHistory> {
  const budget = Math.max(0, model.contextWindow - options.maxOutputTokens - options.reserve);
  const loaded = await storedItems(store, plan, model, budget);
  const sendable = loaded.items.filter((i) => !NOT_SENT_ITEM_TYPES.has(i.type));
  const auto = plan.request.truncation === "auto";
  const window = buildWindow(sendable, {
    model,
    maxOutputTokens: options.maxOutputTokens,
    reserve: options.reserve,
    pruning: auto,
    // What the store read left out is earlier conversation too (the opener Anthropic gets says so).
    olderNotLoaded: loaded.truncated,
    // `sendable` is built for this turn only; a cached index of it would be promoted garbage.
    cacheIndex: false,
  });
  const truncated = loaded.truncated || (window.droppedCount > 0 && !window.summaryUsed);
  if (truncated && !auto) {
    if (!loaded.truncated && !window.summaryUsed) {
      const unpaired = unpairedError(sendable, window.droppedCount);
      if (unpaired) throw unpaired;
    }
    throw new HoldfastError(
      "context_length_exceeded",
      `The conversation does not fit the ${budget} input tokens ${model.id} leaves after ${options.maxOutputTokens} output tokens; ` +
        'set truncation to "auto" to fit it, or compact the conversation.',
      { param: "input" },
    );
  }
  const input = toModelInput(window.items, model.summaryRole) as JsonObject[] as unknown as InputItem[];
  const origin = originOf(window.items, ownSeqs(plan, options.inputSeqs));
  return { input, uncoveredTokens: uncoveredTokens(sendable), tokens: window.tokens, truncated, origin };
}

/** Seq → index in the request's input, for the request's own items among those loaded. */
function ownSeqs(plan: TurnPlan, inputSeqs: readonly number[] | null): Map<number, number> {
  // Without a write (no session, or store:false reading history) the input is pseudo items.
  const written = plan.persist && plan.sessionId !== null && plan.historyUntilSeq === null;
  const seqs = written ? (inputSeqs ?? []) : plan.request.input.map((_, i) => pseudoSeq(plan, i));
  return new Map(seqs.map((seq, i) => [seq, i]));
}

/**
 * Each window item's index in the request's input, by seq: items are kept in order but may be
 * dropped (too old, alternation) or copied (pruned), and summaries and placeholders are history.
 */
function originOf(items: readonly Item[], own: ReadonlyMap<number, number>): (number | null)[] {
  return items.map((item) => own.get(item.seq) ?? null);
}

/**
 * When everything a window left out is a call without its output or an output without its call
 * (which no provider accepts), the conversation fits; it is its pairing the caller must fix.
 */
function unpairedError(items: readonly Item[], dropped: number): InvalidArgumentError | null {
  const index = buildWindowIndex(items);
  if (index.excludedCount === 0 || index.excludedCount !== dropped) return null;
  const at = index.roles.indexOf(ROLE_EXCLUDED);
  const item = items[at];
  if (!item || !(isCall(item) || isOutput(item))) return null;
  const what = `${item.type} '${item.id}' (call_id '${callIdOf(item) ?? "none"}')`;
  const fix = isCall(item)
    ? "has no output after it: send its function_call_output as input, or delete the call"
    : "answers no call before it: delete it";
  return new InvalidArgumentError(
    `The conversation's ${what} ${fix} (DELETE /v1/conversations/{id}/items/{item_id}), or set truncation to "auto" to leave it out.`,
    { param: "input" },
  );
}

function uncoveredTokens(items: readonly Item[]): number {
  let coveredTo = 0;
  let summaryTokens = 0;
  for (const item of items) {
    const covers = isSummaryItem(item) ? readCovers(item.content) : null;
    if (covers && covers.toSeq >= coveredTo) {
      coveredTo = covers.toSeq;
      summaryTokens = item.tokens;
    }
  }
  let tokens = summaryTokens;
  for (const item of items) if (item.seq > coveredTo && !isSummaryItem(item)) tokens += item.tokens;
  return tokens;
}

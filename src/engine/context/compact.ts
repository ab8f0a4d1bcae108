/**
 * Compaction: persistent, non-destructive, auditable. The older part of a session (beyond the
 * newest `keepRecentTokens`) is summarized by an injected summarizer and a `summary` item is
 * appended recording the seq range it covers; the originals stay stored and readable, windows
 * simply start from the latest summary. Uses only the SessionStore contract.
 */
import { createHash } from "node:crypto";
import { ConflictError, HoldfastError, InvalidArgumentError } from "../../store/errors.ts";
import type { TokenCounter } from "../../store/tokens.ts";
import type { Item, JsonObject, JsonValue, SessionStore } from "../../store/types.ts";
import { type ModelCatalog, type ModelInfo, resolveModel } from "./catalog.ts";
import { isContextOverflowError } from "./errors.ts";
import { isObject } from "./items.ts";
import { createMockSummarizer } from "./mock-summarizer.ts";
import { hardClear, PRUNING_DEFAULTS, softTrim } from "./prune.ts";
import {
  createSummaryContent,
  isSummaryItem,
  readCovers,
  readSummary,
  type StructuredSummary,
} from "./summary.ts";
import { createTokenCounter } from "./token-counter.ts";
import { buildWindowIndex, firstCutAtOrAfter, ROLE_REGULAR } from "./window-index.ts";

/** One summarizer call: items (in order) plus the summary so far, to fold in. */
export interface SummarizeRequest {
  items: Item[];
  previous: StructuredSummary | null;
  instructions?: string;
  /** The summarizer's model. */
  model: ModelInfo;
  /** Output budget for the summary. */
  maxOutputTokens: number;
}

/** Injected summarizer: the provider layer supplies a model-backed one; tests use the mock. */
export type Summarizer = (request: SummarizeRequest) => Promise<StructuredSummary>;

export interface CompactOptions {
  /** The model the session talks to; its tokenizer counts the summary item. */
  model: string | ModelInfo;
  /** Newest tokens left verbatim (not summarized). */
  keepRecentTokens: number;
  /** Extra instructions for the summarizer. */
  instructions?: string;
  /** Default: the built-in deterministic mock summarizer. */
  summarize?: Summarizer;
  /** The summarizer's model (bounds its input: chunks are cut to fit). Default: `model`. */
  summarizerModel?: string | ModelInfo;
  /** Tokens of summary output to leave room for in the summarizer. Default 4096. */
  summaryMaxTokens?: number;
  /** Cap on summarizer input per call (tokens). Default: its context window − summaryMaxTokens − 2048. */
  maxChunkTokens?: number;
  catalog?: ModelCatalog;
  /** Counts the summary item. Default: createTokenCounter(model). */
  countTokens?: TokenCounter;
  /** Append attempts on version conflicts. Default 5. */
  maxAttempts?: number;
}

export interface CompactResult {
  compacted: boolean;
  /** Why nothing was appended (when `compacted` is false). */
  reason: string | null;
  item: Item | null;
  covers: { fromSeq: number; toSeq: number } | null;
  tokensBefore: number;
  tokensAfter: number;
  /** Summarizer calls made (more than 1 when the range was chunked). */
  chunks: number;
  /** Append attempts (more than 1 after version conflicts). */
  attempts: number;
}

const PAGE = 10_000;
const INSTRUCTION_ROOM = 2048;

async function loadAll(
  store: SessionStore,
  tenant: string,
  sessionId: string,
  afterSeq = 0,
): Promise<Item[]> {
  const items: Item[] = [];
  let after = afterSeq;
  for (;;) {
    const page = await store.readItems(tenant, sessionId, { afterSeq: after, limit: PAGE, order: "asc" });
    items.push(...page);
    if (page.length < PAGE) return items;
    after = (page[page.length - 1] as Item).seq;
  }
}

/** A copy small enough for one summarizer call (head and tail of outputs, clipped messages). */
function shrink(item: Item, max: number): Item {
  if (item.tokens <= max) return item;
  const half = Math.max(1, Math.floor(max * 0.45));
  const trimmed = softTrim(item, {
    ...PRUNING_DEFAULTS,
    softTrimMinTokens: 0,
    keepHeadTokens: half,
    keepTailTokens: half,
  });
  if (trimmed.tokens <= max) return trimmed;
  const cleared = hardClear(item);
  if (cleared !== item) return cleared;
  const text = JSON.stringify(item.content);
  const keep = Math.floor((text.length * max) / item.tokens);
  const content: JsonObject = {
    type: "message",
    role: item.role ?? "user",
    content: [{ type: "input_text", text: `${text.slice(0, keep)}…[holdfast: clipped for summarization]` }],
  };
  return { ...item, content, tokens: max };
}

function chunk(items: Item[], capacity: number): Item[][] {
  const chunks: Item[][] = [];
  let current: Item[] = [];
  let used = 0;
  for (const raw of items) {
    const item = shrink(raw, capacity);
    if (used + item.tokens > capacity && current.length > 0) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += item.tokens;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function positiveInt(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer.`, { param: name });
  }
  return value as number;
}

function operationIdFor(sessionId: string, content: JsonObject): string {
  const hash = createHash("sha256").update(sessionId).update(JSON.stringify(content)).digest("hex");
  return `holdfast-compact-${hash.slice(0, 40)}`;
}

function noop(reason: string, attempts = 0): CompactResult {
  return {
    compacted: false,
    reason,
    item: null,
    covers: null,
    tokensBefore: 0,
    tokensAfter: 0,
    chunks: 0,
    attempts,
  };
}

/**
 * Summarizes everything older than the newest `keepRecentTokens` (folding in the previous
 * summary) and appends one `summary` item, version-checked and retried on conflict.
 */
export async function compact(
  store: SessionStore,
  tenant: string,
  sessionId: string,
  options: CompactOptions,
): Promise<CompactResult> {
  const model = resolveModel(options.model, options.catalog);
  const summarizerModel = resolveModel(options.summarizerModel ?? model, options.catalog);
  const keepRecent = positiveInt(options.keepRecentTokens, "keepRecentTokens");
  const summaryMax = positiveInt(options.summaryMaxTokens ?? 4096, "summaryMaxTokens");
  const capacity =
    options.maxChunkTokens === undefined
      ? summarizerModel.contextWindow - summaryMax - INSTRUCTION_ROOM
      : positiveInt(options.maxChunkTokens, "maxChunkTokens");
  if (capacity <= 0) {
    throw new InvalidArgumentError(
      `The summarizer ${summarizerModel.id} has no room for input; lower summaryMaxTokens.`,
      {
        param: "summaryMaxTokens",
      },
    );
  }
  const summarize = options.summarize ?? createMockSummarizer();
  const countTokens = options.countTokens ?? createTokenCounter(model, { catalog: options.catalog });
  const maxAttempts = options.maxAttempts ?? 5;

  const session = await store.get(tenant, sessionId);
  const items = await loadAll(store, tenant, sessionId);
  const index = buildWindowIndex(items);
  // The newest cut whose suffix stays within keepRecentTokens marks the end of the covered range.
  const total = index.prefix[index.length] as number;
  let k = firstCutAtOrAfter(index, index.firstUncovered);
  while (k < index.cutCount - 1 && total - (index.prefix[index.cuts[k] as number] as number) > keepRecent)
    k++;
  const end = index.cuts[k] as number;
  if (end <= index.firstUncovered) return noop("nothing older than keepRecentTokens to compact");

  const range: Item[] = [];
  let rangeTokens = 0;
  for (let i = index.firstUncovered; i < end; i++) {
    if (index.roles[i] === ROLE_REGULAR) {
      range.push(items[i] as Item);
      rangeTokens += (items[i] as Item).tokens;
    }
  }
  const previousItem = index.summary >= 0 ? (items[index.summary] as Item) : null;
  if (range.length === 0) return noop("only pinned or invalid items in the range");

  // Compaction never overflows itself: fold chunk by chunk, each call ≤ capacity with the summary so far.
  let summary = previousItem ? readSummary(previousItem.content) : null;
  const chunkCapacity = Math.max(1, capacity - (previousItem?.tokens ?? 0) - summaryMax);
  const chunks = chunk(range, chunkCapacity);
  for (const part of chunks) {
    const request: SummarizeRequest = {
      items: part,
      previous: summary,
      model: summarizerModel,
      maxOutputTokens: summaryMax,
    };
    if (options.instructions !== undefined) request.instructions = options.instructions;
    const result: unknown = await summarize(request);
    if (!isObject(result as JsonValue)) {
      throw new HoldfastError(
        "internal",
        "The summarizer returned no summary object; nothing was appended.",
        {
          param: "summarize",
        },
      );
    }
    // Missing or mistyped fields become empty ones instead of a TypeError or a malformed item.
    summary = readSummary({ summary: result as JsonObject });
  }
  const covers = {
    fromSeq: previousItem ? (readCovers(previousItem.content)?.fromSeq ?? 1) : (items[0] as Item).seq,
    toSeq: (items[end - 1] as Item).seq,
  };
  const tokensBefore = rangeTokens + (previousItem?.tokens ?? 0);
  const draft = createSummaryContent({
    summary: summary as StructuredSummary,
    covers,
    model: summarizerModel.id,
    tokens_before: tokensBefore,
    tokens_after: 0,
  });
  const tokensAfter = countTokens(draft);
  if (tokensAfter >= tokensBefore) {
    // Appending it would make every later window bigger, not smaller (and overflow recovery
    // would retry a call that cannot fit).
    return {
      ...noop(
        `the summary (${tokensAfter} tokens) is not smaller than what it replaces (${tokensBefore} tokens)`,
      ),
      tokensBefore,
      tokensAfter,
      chunks: chunks.length,
    };
  }
  const content = { ...draft, tokens_after: tokensAfter };
  const operationId = operationIdFor(sessionId, content);

  let version = session.version;
  let lastSeq = items.length > 0 ? (items[items.length - 1] as Item).seq : 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const result = await store.append(tenant, sessionId, [{ content, tokens: tokensAfter }], {
        expectedVersion: version,
        operationId,
      });
      return {
        compacted: true,
        reason: null,
        item: result.items[0] ?? null,
        covers,
        tokensBefore,
        tokensAfter,
        chunks: chunks.length,
        attempts: attempt,
      };
    } catch (error) {
      if (!(error instanceof ConflictError) || error.code !== "conflict") throw error;
      // A turn landed meanwhile. Our range only covers older seqs, so it stays valid unless a
      // concurrent compaction already covered it.
      const fresh = await store.get(tenant, sessionId);
      const newer = await loadAll(store, tenant, sessionId, lastSeq);
      const superseded = newer.some(
        (item) => isSummaryItem(item) && (readCovers(item.content)?.toSeq ?? 0) >= covers.toSeq,
      );
      if (superseded) return noop("a concurrent compaction already covers this range", attempt);
      version = fresh.version;
      lastSeq = newer.length > 0 ? (newer[newer.length - 1] as Item).seq : lastSeq;
    }
  }
  throw new ConflictError(
    `Compaction of session '${sessionId}' lost the version race ${maxAttempts} times; retry when the session is quieter.`,
    { param: "expected_version" },
  );
}

/**
 * Whether a session should be compacted before the next turn: its window tokens (since the
 * latest summary) reach `threshold` (0..1) of the model's input budget.
 */
export function shouldCompact(
  windowTokens: number,
  model: string | ModelInfo,
  threshold = 0.8,
  options: { maxOutputTokens?: number; catalog?: ModelCatalog } = {},
): boolean {
  if (!(threshold > 0 && threshold <= 1)) {
    throw new InvalidArgumentError("threshold must be a share of the context in (0, 1].", {
      param: "threshold",
    });
  }
  const info = resolveModel(model, options.catalog);
  let budget = info.contextWindow - (options.maxOutputTokens ?? info.maxOutputTokens);
  if (info.maxInputTokens !== null) budget = Math.min(budget, info.maxInputTokens);
  return windowTokens >= threshold * budget;
}

const CONTEXT_LENGTH =
  /context[_ ]length|context window|maximum context|prompt is too long|too many tokens|input is too long|exceeds the context|reduce the length/i;

/** Whether an error is a provider's (or our own) context-length rejection. */
export function isContextLengthError(error: unknown): boolean {
  if (isContextOverflowError(error)) return true;
  if (typeof error !== "object" || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; error?: { code?: unknown; message?: unknown } };
  const code = e.code ?? e.error?.code;
  if (code === "context_length_exceeded" || code === "string_above_max_length") return true;
  const message = e.message ?? e.error?.message;
  return typeof message === "string" && CONTEXT_LENGTH.test(message);
}

export interface CompactAndRetryOptions extends CompactOptions {
  store: SessionStore;
  tenant: string;
  sessionId: string;
  /** Decides what counts as a context-length error. Default: isContextLengthError. */
  isOverflow?: (error: unknown) => boolean;
}

/**
 * Overflow recovery: runs `call`; if it fails with a context-length error, compacts the session
 * and runs `call` once more (it should rebuild its window). Other errors pass through.
 */
export async function compactAndRetry<T>(
  call: () => Promise<T>,
  options: CompactAndRetryOptions,
): Promise<T> {
  const isOverflow = options.isOverflow ?? isContextLengthError;
  try {
    return await call();
  } catch (error) {
    if (!isOverflow(error)) throw error;
    const result = await compact(options.store, options.tenant, options.sessionId, options);
    if (!result.compacted) {
      throw new HoldfastError(
        "context_overflow",
        `The model rejected the window as too long and compaction could not help (${result.reason}).`,
        { param: "input", cause: error },
      );
    }
    return await call();
  }
}

/**
 * The session view's Compact button: the context engine's `compact()` (what `holdfast sessions
 * compact` runs) on one session. The older part is summarized into one `summary` item; the
 * originals stay stored. Without an injected summarizer it uses the built-in deterministic one,
 * like the CLI (the gateway's automatic compaction uses the conversation's own model).
 */
import { getDefaultCatalog } from "../engine/context/catalog.ts";
import { type CompactResult, compact, type Summarizer } from "../engine/context/compact.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import { bodyObject } from "./body.ts";
import { toTurn } from "./transcript.ts";

/** Newest tokens left verbatim unless the request says otherwise (the CLI's default). */
export const DEFAULT_KEEP_RECENT_TOKENS = 8000;
/** Model used when the request names none and the session has no turn of a known model. */
export const DEFAULT_COMPACT_MODEL = "gpt-4o";

/** The model of the session's latest turn record among its newest items, if any. */
async function latestModel(store: SessionStore, tenant: string, id: string): Promise<string | null> {
  const items = await store.readItems(tenant, id, { order: "desc", limit: 64 });
  for (const item of items) {
    const turn = toTurn(item);
    if (turn?.model) return turn.model;
  }
  return null;
}

/** Validates `body` (`{ model?, keepRecentTokens? }`) and compacts the session. */
export async function compactSession(
  store: SessionStore,
  tenant: string,
  id: string,
  body: unknown,
  summarize?: Summarizer,
): Promise<CompactResult> {
  const b = bodyObject(body, ["keepRecentTokens", "model"]);
  const keep = b.keepRecentTokens ?? DEFAULT_KEEP_RECENT_TOKENS;
  if (!Number.isSafeInteger(keep) || (keep as number) < 1) {
    throw new InvalidArgumentError("keepRecentTokens must be a positive integer.", {
      param: "keepRecentTokens",
    });
  }
  if (b.model !== undefined && (typeof b.model !== "string" || b.model.trim() === "")) {
    throw new InvalidArgumentError("model must be a model id from the catalog.", { param: "model" });
  }
  await store.get(tenant, id);
  const catalog = getDefaultCatalog();
  const named = typeof b.model === "string" ? b.model.trim() : null;
  const latest = named ? null : await latestModel(store, tenant, id);
  // A named model must be known (its tokenizer counts the summary); a recorded one may not be.
  const model = named
    ? catalog.get(named)
    : ((latest ? catalog.find(latest) : null) ?? catalog.get(DEFAULT_COMPACT_MODEL));
  return compact(store, tenant, id, {
    model,
    keepRecentTokens: keep as number,
    ...(summarize ? { summarize } : {}),
  });
}

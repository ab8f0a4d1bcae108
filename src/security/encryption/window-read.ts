/**
 * `withEncryption`'s readWindow: answers from the decrypted window kept for the session while
 * the session's head says it is current, otherwise reads the store's window, decrypts it and
 * keeps it for the next turn.
 */
import { readHead } from "../../store/decorators/delegating-store.ts";
import type { SessionStore, Window, WindowQuery } from "../../store/types.ts";
import { checkExcludeTypes, checkSessionId, checkTenant, isPlainObject } from "../../store/validate.ts";
import type { SessionOpener } from "./session-opener.ts";
import { cachedItem, excludeKey, type WindowCache } from "./window-cache.ts";

export async function readWindowCached(
  inner: SessionStore,
  windows: WindowCache,
  opener: SessionOpener,
  tenant: string,
  id: string,
  query: WindowQuery,
): Promise<Window> {
  const maxTokens = isPlainObject(query) ? query.maxTokens : undefined;
  // Anything the store would reject goes to it, so errors and their order stay the store's.
  if (!windows.enabled || !Number.isSafeInteger(maxTokens) || (maxTokens as number) < 0) {
    return storeWindow(inner, opener, tenant, id, query);
  }
  checkTenant(tenant);
  checkSessionId(id);
  const types = checkExcludeTypes(query.excludeTypes);
  const exclude = excludeKey(types);
  if (exclude === null) return storeWindow(inner, opener, tenant, id, query);
  const key = { maxTokens: query.maxTokens, exclude };
  // The head (one small read, no JSON where the store can) says whether the decrypted window
  // kept for this session is current.
  const head = await readHead(inner, tenant, id);
  const hit = windows.get(tenant, id, key, head);
  if (hit) return hit;
  // The whole range, so that it can be carried over appends: excluded items stay sealed and
  // are left out of the answer (their types are not calls or outputs: pairing is unchanged).
  const full = await inner.readWindow(tenant, id, { maxTokens: query.maxTokens });
  const excluded = new Set(types);
  const items = excluded.size === 0 ? full.items : full.items.filter((i) => !excluded.has(i.type));
  const texts: string[] = [];
  await opener.items(tenant, id, items, texts);
  if (full.sessionVersion === head.version) {
    let next = 0;
    const range = full.items.map((item) =>
      excluded.has(item.type) ? cachedItem(item, null) : cachedItem(item, texts[next++] as string),
    );
    windows.set(tenant, id, key, head, { range, truncated: full.truncated });
  }
  let tokens = 0;
  for (const item of items) tokens += item.tokens;
  return {
    items,
    tokens,
    fromSeq: items[0]?.seq ?? 0,
    truncated: full.truncated,
    sessionVersion: full.sessionVersion,
  };
}

/** The store's window, decrypted (no window cache). */
async function storeWindow(
  inner: SessionStore,
  opener: SessionOpener,
  tenant: string,
  id: string,
  query: WindowQuery,
): Promise<Window> {
  const window = await inner.readWindow(tenant, id, query);
  return { ...window, items: await opener.items(tenant, id, window.items) };
}

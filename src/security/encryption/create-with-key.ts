/**
 * The data-key lifecycle of `withEncryption`'s create: the session's key is written before the
 * sealed session, dropped again when the store refuses the create, and kept whenever a session
 * sealed with it may exist.
 */
import { randomBytes } from "node:crypto";
import { isHoldfastError } from "../../store/errors.ts";
import type { CreateSessionInput, Session, SessionStore } from "../../store/types.ts";
import type { DataKeys, SessionKeys } from "./data-keys.ts";

/**
 * Creates session `id` in `inner` with the input `seal` builds under the session's keys, and
 * returns the stored (still sealed) session. Throws the create's own error when it is refused.
 */
export async function createWithDataKey(
  inner: SessionStore,
  dataKeys: DataKeys,
  tenant: string,
  id: string,
  seal: (keys: SessionKeys) => CreateSessionInput,
): Promise<Session> {
  // The key record is written before the sealed session: a crash between the two leaves a key
  // without a session (shredOrphanedKeys removes it), never a session no key opens.
  const found = await dataKeys.load(tenant, id);
  const own = found.has(id) ? null : randomBytes(32);
  const keys = own ? await dataKeys.inherit(tenant, id, new Map([[id, own]])) : found;
  // Made here, not found (nor written by a concurrent create of the same id first).
  const fresh = own !== null && keys.get(id)?.equals(own) === true;
  let created: Session;
  try {
    created = await inner.create(tenant, seal(keys));
  } catch (error) {
    if (fresh) await dropRefusedKey(inner, dataKeys, tenant, id, keys, error);
    throw error;
  }
  // A key found rather than made may be a concurrent create's that was refused and is being
  // dropped (dropRefusedKey): this session was sealed with it, so the record must keep it.
  if (!fresh) await dataKeys.inherit(tenant, id, keys);
  return created;
}

/**
 * Removes the key a refused create made, so that it leaves nothing behind. A conflict keeps it
 * (the id is held; its session may be sealed with this key). Another create of the same id
 * that loaded this key and succeeded meanwhile is put right: by the check here when it finished
 * first, or by its own re-check (in createWithDataKey) when it finishes later.
 */
async function dropRefusedKey(
  inner: SessionStore,
  dataKeys: DataKeys,
  tenant: string,
  id: string,
  keys: SessionKeys,
  error: unknown,
): Promise<void> {
  if (isHoldfastError(error) && error.code === "conflict") return;
  try {
    await dataKeys.destroy(tenant, id);
    const gone = await inner.get(tenant, id).then(
      () => false,
      (getError) => isHoldfastError(getError) && getError.code === "not_found",
    );
    if (!gone) await dataKeys.inherit(tenant, id, keys);
  } catch {
    // Best effort: a key left behind is an orphan that shredOrphanedKeys removes; the caller
    // gets the create's own error.
  }
}

/** The session behind an adapter: opened by id when it exists, created (with that id) otherwise. */
import { isHoldfastError } from "../../store/errors.ts";
import type { CreateSessionInput, Session, SessionStore } from "../../store/types.ts";

/** The session `id` when it exists, `undefined` when it does not (nothing is created). */
export async function findSession(
  store: SessionStore,
  tenant: string,
  id: string,
): Promise<Session | undefined> {
  try {
    return await store.get(tenant, id);
  } catch (error) {
    if (!isHoldfastError(error) || error.code !== "not_found") throw error;
    return undefined;
  }
}

/**
 * Gets `id`, or creates the session (under `id` when given). If another process creates the same
 * id between the two, theirs is used: adapters on several instances converge on one session.
 */
export async function openOrCreateSession(
  store: SessionStore,
  tenant: string,
  id: string | undefined,
  create: CreateSessionInput,
): Promise<Session> {
  if (id !== undefined) {
    const existing = await findSession(store, tenant, id);
    if (existing !== undefined) return existing;
  }
  try {
    return await store.create(tenant, { ...create, ...(id !== undefined ? { id } : {}) });
  } catch (error) {
    if (id !== undefined && isHoldfastError(error) && error.code === "conflict") return store.get(tenant, id);
    throw error;
  }
}

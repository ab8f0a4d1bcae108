/**
 * `POST /v1/conversations` with `Idempotency-Key`: the conversation's id is derived from the key
 * (per tenant and end user), so a retry cannot create a second one — the store refuses the id as
 * taken. The retry then gets the first conversation if it is the one this very body created and
 * is still as created (its version is the creation's: 1, or 2 with items); a different body, or
 * a conversation changed since (which can no longer be told apart from one), is 409
 * `idempotency_conflict`, as a reused key is on `POST …/items`. Nothing but the id is stored for
 * this, so the store contract is unchanged; the key lasts as long as its conversation.
 */
import { canonicalJson } from "../store/encoding.ts";
import { ConflictError, HoldfastError } from "../store/errors.ts";
import { sha256 } from "../store/ids.ts";
import type { CreateSessionInput, Session, SessionStore } from "../store/types.ts";

/** The id a keyed create uses: distinct from turn-derived ids, and per end user within a tenant. */
function idForKey(tenant: string, owner: string | null, key: string): string {
  return `conv_${sha256(`conversations.create\u0000${tenant}\u0000${owner ?? ""}\u0000${key}`).slice(0, 32)}`;
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Whether `session` (with its items) is exactly what `input` creates, untouched since. */
async function isCreationOf(
  store: SessionStore,
  tenant: string,
  session: Session,
  input: CreateSessionInput,
): Promise<boolean> {
  const wanted = input.items ?? [];
  const labels = (list: readonly string[]) => [...new Set(list)].sort();
  if (
    session.version !== (wanted.length > 0 ? 2 : 1) ||
    session.itemCount !== wanted.length ||
    session.owner !== (input.owner ?? null) ||
    session.idleTtlMs !== (input.idleTtlMs ?? null) ||
    session.expiresAt !== (input.expiresAt ?? null) ||
    session.pinned !== (input.pinned ?? false) ||
    !same(labels(session.labels), labels(input.labels ?? [])) ||
    !same(session.metadata, input.metadata ?? {}) ||
    !same(session.state, input.state ?? {})
  ) {
    return false;
  }
  if (wanted.length === 0) return true;
  const stored = await store.readItems(tenant, session.id, { order: "asc", limit: wanted.length });
  return (
    stored.length === wanted.length &&
    wanted.every(
      (item, i) =>
        (item.id === undefined || item.id === stored[i]!.id) && same(item.content, stored[i]!.content),
    )
  );
}

/** Creates the conversation, or finds the one an earlier attempt with the same key created. */
export async function createConversationOnce(
  store: SessionStore,
  tenant: string,
  input: CreateSessionInput,
  key: string,
  principalOwner: string | null,
): Promise<{ session: Session; replayed: boolean }> {
  const id = idForKey(tenant, principalOwner, key);
  try {
    return { session: await store.create(tenant, { ...input, id }), replayed: false };
  } catch (error) {
    if (!(error instanceof HoldfastError) || error.code !== "conflict" || error.param !== "id") throw error;
  }
  const first = await store.get(tenant, id).catch(() => null);
  if (first && (await isCreationOf(store, tenant, first, input))) return { session: first, replayed: true };
  throw new ConflictError(
    first
      ? `Idempotency-Key '${key}' already created conversation '${id}' with another body, or it changed since; use a new key, or retrieve that conversation.`
      : `Idempotency-Key '${key}' already created a conversation that no longer exists; use a new key.`,
    { param: "Idempotency-Key", code: "idempotency_conflict" },
  );
}

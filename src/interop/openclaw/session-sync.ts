/**
 * A re-import brings an existing session's description up to date with the index entry and
 * transcript: its `openclaw_*` metadata (label, model, provider, …) and its `state.openclaw`. An
 * OpenClaw session renamed or switched to another model with no new messages is otherwise left
 * with what the first import saw.
 */
import { isDeepStrictEqual } from "node:util";
import type { JsonObject, JsonValue, Session, SessionStore } from "../../store/types.ts";
import { isPlainObject } from "../../store/validate.ts";
import { OPENCLAW_METADATA_KEYS } from "./session-meta.ts";

/**
 * The JSON merge patch that turns `from` into `to`, or `undefined` when there is nothing to
 * change. A merge patch cannot store a `null` (it deletes the member), so `null` and absent count
 * as the same: a value that became `null` is deleted, and one that is absent stays equal to a
 * `null` wanted (a later run then finds nothing to change instead of patching it again).
 */
export function mergePatchBetween(from: JsonValue | undefined, to: JsonValue): JsonValue | undefined {
  if (!isPlainObject(from) || !isPlainObject(to)) {
    if ((from ?? null) === null && to === null) return undefined;
    return isDeepStrictEqual(from, to) ? undefined : to;
  }
  const source = from as JsonObject;
  const target = to as JsonObject;
  const patch: JsonObject = {};
  for (const key of Object.keys(source))
    if (source[key] !== null && (!Object.hasOwn(target, key) || target[key] === null)) patch[key] = null;
  for (const [key, value] of Object.entries(target)) {
    if (value === null) continue;
    const change = mergePatchBetween(Object.hasOwn(source, key) ? source[key] : undefined, value);
    if (change !== undefined) patch[key] = change;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** The session's metadata with the import's own keys replaced by `imported`; others kept. */
function nextMetadata(
  current: Record<string, string>,
  imported: Record<string, string>,
): Record<string, string> {
  const next: Record<string, string> = {};
  for (const [key, value] of Object.entries(current)) if (!OPENCLAW_METADATA_KEYS.has(key)) next[key] = value;
  return { ...next, ...imported };
}

function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

/**
 * Writes the metadata and `state.openclaw` the import derives now where they differ from the
 * stored session's; true when anything was written.
 */
export async function syncDescription(
  store: SessionStore,
  session: Session,
  metadata: Record<string, string>,
  state: JsonObject,
): Promise<boolean> {
  let changed = false;
  const wanted = nextMetadata(session.metadata, metadata);
  if (!sameEntries(wanted, session.metadata)) {
    await store.update(session.tenant, session.id, { metadata: wanted });
    changed = true;
  }
  const patch = mergePatchBetween(session.state.openclaw, state.openclaw ?? null);
  if (patch !== undefined) {
    await store.patchState(session.tenant, session.id, { openclaw: patch });
    changed = true;
  }
  return changed;
}

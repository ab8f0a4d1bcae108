/**
 * The target's side of one session's copy in `migrate`: its copy created (or found) and compared
 * with the source session.
 */
import { canonicalJson } from "../store/encoding.ts";
import { ConflictError, isHoldfastError } from "../store/errors.ts";
import type { Session, SessionStore } from "../store/types.ts";

/**
 * The session fields a copy keeps (the target assigns version, timestamps and fork parent).
 * `status` is not among them: it is set after the items (an archived session refuses appends),
 * so a copy cut short before that differs only there and is finished by the next run.
 */
const KEPT_FIELDS = ["owner", "metadata", "labels", "state", "pinned", "idleTtlMs", "expiresAt"] as const;

/** The kept fields whose values differ between the source session and the target's copy. */
export function differingFields(a: Session, b: Session): string[] {
  return KEPT_FIELDS.filter((f) => canonicalJson(a[f]) !== canonicalJson(b[f]));
}

/**
 * The target's copy of `source` (created, without items, when missing) and whether it was new;
 * `"expired"` when the session's expiry passed since it was listed.
 */
export async function ensureSession(
  target: SessionStore,
  tenant: string,
  source: Session,
): Promise<{ session: Session; created: boolean } | "expired"> {
  try {
    return { session: await target.get(tenant, source.id), created: false };
  } catch (error) {
    if ((error as { code?: string }).code !== "not_found") throw error;
  }
  try {
    // Created active: the status is copied once the items are in (see KEPT_FIELDS).
    const session = await target.create(tenant, {
      id: source.id,
      owner: source.owner,
      metadata: source.metadata,
      labels: source.labels,
      state: source.state,
      idleTtlMs: source.idleTtlMs,
      expiresAt: source.expiresAt,
      pinned: source.pinned,
    });
    return { session, created: true };
  } catch (error) {
    // The target's own clock decides: nothing was written.
    if (isHoldfastError(error) && error.code === "invalid_argument" && error.param === "expires_at")
      return "expired";
    // Another migrator created it meanwhile: carry on with what is there. Invisible there
    // (not_found after the conflict) is a copy that has expired since, not yet swept.
    if (error instanceof ConflictError) {
      try {
        return { session: await target.get(tenant, source.id), created: false };
      } catch (getError) {
        if (source.expiresAt !== null && isHoldfastError(getError) && getError.code === "not_found")
          return "expired";
        throw getError;
      }
    }
    throw error;
  }
}

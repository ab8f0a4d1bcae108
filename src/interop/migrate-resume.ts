/**
 * Where `migrate` resumes the copy of a session an earlier run left short: after the source seq
 * of the newest item the target's copy holds; and whether that copy is already complete.
 */
import { isHoldfastError } from "../store/errors.ts";
import type { Session, SessionStore } from "../store/types.ts";

/**
 * The source seq to resume after, and whether the target's copy already holds every item of the
 * listed source session. Without deleted items in the source equal counts say so; with them they
 * do not: an item copied, then deleted in the source, can stand in for a newer one not copied yet
 * (which an archived copy would refuse). There the listed session is complete only when it holds
 * nothing after the resume point.
 */
export async function resumePoint(
  source: SessionStore,
  target: SessionStore,
  tenant: string,
  session: Session,
  existing: Session,
): Promise<{ after: number; complete: boolean }> {
  const after = await resumeAfter(source, target, tenant, session, existing);
  const sameCount = existing.itemCount === session.itemCount;
  if (!sameCount || session.lastSeq === session.itemCount) return { after, complete: sameCount };
  const [next] = await source.readItems(tenant, session.id, {
    afterSeq: after,
    beforeSeq: session.lastSeq + 1,
    limit: 1,
  });
  return { after, complete: next === undefined };
}

/**
 * The source seq to resume after, given the target's copy. The target holds the source's items
 * in order but renumbered 1..n, so with gaps in the source (deleted items) its count is not a
 * source seq: the source seq of the target's newest item is. When the source has deleted that
 * item since it was copied, the newest one it still holds is taken instead: the copy read the
 * source's items in seq order and a deleted seq is never reused, so the source's items after that
 * one are exactly those not copied yet (none twice, none passed over). None left: all of them.
 */
async function resumeAfter(
  source: SessionStore,
  target: SessionStore,
  tenant: string,
  session: Session,
  existing: Session,
): Promise<number> {
  if (existing.itemCount === 0 || session.lastSeq === session.itemCount) return existing.itemCount;
  const limit = 100;
  for (let beforeSeq: number | undefined; ; ) {
    const newestFirst = await target.readItems(tenant, session.id, {
      order: "desc",
      limit,
      ...(beforeSeq === undefined ? {} : { beforeSeq }),
    });
    for (const item of newestFirst) {
      const seq = await sourceSeqOf(source, tenant, session.id, item.id);
      if (seq !== null) return seq;
    }
    if (newestFirst.length < limit) return 0;
    beforeSeq = newestFirst.at(-1)!.seq;
  }
}

/**
 * The seq of item `itemId` in the source session, or `null` when the source deleted it. A session
 * gone from the source throws its `not_found` (the caller reports it as vanished).
 */
async function sourceSeqOf(
  source: SessionStore,
  tenant: string,
  id: string,
  itemId: string,
): Promise<number | null> {
  try {
    return (await source.getItem(tenant, id, itemId)).seq;
  } catch (error) {
    if (!(isHoldfastError(error) && error.code === "not_found")) throw error;
    // A missing session has the same code: asked here, a deleted one is not walked through.
    await source.get(tenant, id);
    return null;
  }
}

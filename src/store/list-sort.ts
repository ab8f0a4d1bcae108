/** List sort keys: the value each `ListSort` orders by, and the (value, id) keyset comparison. */
import type { ListSort, Session } from "./types.ts";

/** The value a list sorts by. */
export function sortValue(session: Session, sort: ListSort): number {
  switch (sort) {
    case "updated":
      return session.updatedAt;
    case "items":
      return session.itemCount;
    case "bytes":
      return session.bytes;
    default:
      return session.createdAt;
  }
}

/** Ascending (sort value, id) comparison of a session with a keyset position or another session. */
export function compareSessions(
  a: Session,
  b: Session | { value: number; id: string },
  sort: ListSort,
): number {
  const bv = "value" in b ? b.value : sortValue(b, sort);
  return sortValue(a, sort) - bv || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * `holdfast serve`'s compaction hook for session quotas (issue 7: compact, then reject). A turn
 * whose input would take its conversation past `max_items|bytes|tokens_per_session` first has
 * the conversation compacted by the gateway (the turn's model, spend on the turn's record) and
 * the summarized items freed; the quota is then checked again, once, and refused if still over.
 * A turn admitted that way (or because its input fit) then runs to its end: the summary its
 * automatic compaction writes mid-turn is let through unchecked (`admittedTurnWrite`), as its
 * final append is.
 */
import type { TurnEngine } from "./engine/turn/turn-engine.ts";
import { type RoomBounds, turnCompacting } from "./engine/turn/turn-room.ts";
import type { QuotaDelta, QuotaKind, QuotaLimits, QuotaOptions } from "./lifecycle/quotas.ts";

const UNIT: Record<QuotaKind, string> = { items: "items", bytes: "bytes", tokens: "tokens" };

/**
 * How much of the conversation compaction keeps verbatim: half of what each limit leaves besides
 * the input (and, for items, the summary), so one compaction makes room for several more turns
 * instead of one. A sentence instead when the input alone does not fit a limit: no compaction
 * can help then, and none is paid for.
 */
export function roomBounds(limits: QuotaLimits, delta: QuotaDelta): RoomBounds | string {
  const bounds: RoomBounds = { items: null, bytes: null, tokens: null };
  for (const kind of ["items", "bytes", "tokens"] as const) {
    const limit = limits[kind];
    if (limit === null) continue;
    // The summary compaction appends is an item of its own.
    const left = limit - delta[kind] - (kind === "items" ? 1 : 0);
    if (left < 0) {
      return `This input alone (${delta[kind]} ${UNIT[kind]}) leaves no room under the limit: compaction cannot help.`;
    }
    bounds[kind] = Math.floor(left / 2);
  }
  return bounds;
}

/** The hook for withQuotas; `engine` is the gateway's, created after the store it is wired into. */
export function compactToFit(engine: () => TurnEngine | undefined): NonNullable<QuotaOptions["compact"]> {
  return async (tenant, session, _over, delta, { store, limits }) => {
    const bounds = roomBounds(limits, delta);
    if (typeof bounds === "string") return bounds;
    return engine()?.makeRoom(store, tenant, session.id, bounds);
  };
}

/**
 * withQuotas' `admitted`: an append made by a turn's own automatic or overflow-recovery compaction,
 * which runs only after the turn's input append passed the check.
 */
export function admittedTurnWrite(tenant: string, sessionId: string): boolean {
  return turnCompacting(tenant, sessionId);
}

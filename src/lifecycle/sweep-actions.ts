/** How the sweeper applies one non-delete action (archive, reset, purge_archive). */

import { InvalidArgumentError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import type { ActionOutcome } from "./action-log.ts";
import { type Archiver, lifecycleDriver } from "./archiver.ts";
import type { PlannedAction } from "./plan-types.ts";

export interface ActionOutcomeDetail {
  outcome: ActionOutcome;
  items: number;
  bytes: number;
  extra?: { newSessionId?: string };
}

function needArchiver(archiver: Archiver | undefined, action: string): Archiver {
  if (!archiver) {
    throw new InvalidArgumentError(
      `A '${action}' action needs an archive directory (lifecycle.archive.dir or --archive-dir).`,
      { param: "archive" },
    );
  }
  return archiver;
}

/** Applies one action; `skipped` when the session changed or vanished since it was planned. */
export async function applyAction(
  a: PlannedAction,
  deps: { store: SessionStore; archiver?: Archiver },
): Promise<ActionOutcomeDetail> {
  const skipped: ActionOutcomeDetail = { outcome: "skipped", items: 0, bytes: 0 };
  if (a.action === "purge_archive") {
    const target = { tenant: a.tenant, id: a.sessionId, version: a.version };
    const result = deps.archiver
      ? await deps.archiver.purge([target])
      : await lifecycleDriver(deps.store).purgeSessions([target]);
    return result.sessions === 1 ? { outcome: "done", items: 0, bytes: a.bytes } : skipped;
  }
  const archiver = needArchiver(deps.archiver, a.action);
  if (a.action === "archive") {
    const r = await archiver.archive(a.tenant, a.sessionId, a.version);
    return r.archived ? { outcome: "done", items: r.items, bytes: r.bytes } : skipped;
  }
  if (a.action === "reset") {
    const [old] = await lifecycleDriver(deps.store).scanSessions({
      tenant: a.tenant,
      id: a.sessionId,
      limit: 1,
    });
    if (!old || old.version !== a.version) return skipped;
    const r = await archiver.archive(a.tenant, a.sessionId, a.version);
    if (!r.archived) return skipped;
    const fresh = await deps.store.create(a.tenant, {
      owner: old.owner,
      labels: old.labels,
      metadata: old.metadata,
      idleTtlMs: old.idleTtlMs,
    });
    return { outcome: "done", items: r.items, bytes: r.bytes, extra: { newSessionId: fresh.id } };
  }
  throw new InvalidArgumentError(`Unknown cleanup action '${a.action}'.`, { param: "action" });
}

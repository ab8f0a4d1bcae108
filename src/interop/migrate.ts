/**
 * Live migration between any two stores (`holdfast migrate --from … --to …`). Sessions keep their
 * ids; items are copied in pages, each page appended under an operation id derived from its
 * position, so an interrupted migration resumes where it stopped and a repeated page replays
 * instead of duplicating. Every session is verified afterwards: same item count and the same
 * sha256 over its items' content, in order.
 *
 * A session the lifecycle archiver turned into a stub (status `archived`, counters kept, items in
 * its archive backend) has no items in the store: they are read from its archive (`readArchive`)
 * and the copy is an archived session holding them. Without `readArchive` such a session is
 * reported as a mismatch and not copied, never passed over as an empty one.
 *
 * A session deleted or expired while its items are being copied (in the source, or its copy in
 * the target) is left out and reported, and the half copy this run made is removed: the run goes
 * on with the other sessions instead of stopping on its `not_found`. Items the source deleted
 * after they were copied (by this run or an interrupted earlier one) are removed from the copy
 * too and reported as deleted in the source, not as a mismatch (migrate-deleted-items.ts).
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError, isHoldfastError } from "../store/errors.ts";
import type { Item, Session, SessionStore } from "../store/types.ts";
import { checkTenant } from "../store/validate.ts";
import { itemsDeletedInSource } from "./migrate-deleted-items.ts";
import { resumePoint } from "./migrate-resume.ts";
import { differingFields, ensureSession } from "./migrate-target.ts";
import type { MigrateOptions, MigrateProgress, MigrateReport } from "./migrate-types.ts";

export type {
  DeletedItems,
  ExpiredSession,
  MigrateOptions,
  MigrateProgress,
  MigrateReport,
  SessionMismatch,
  VanishedSession,
} from "./migrate-types.ts";

async function* allSessions(store: SessionStore, tenant: string): AsyncGenerator<Session> {
  let cursor: string | undefined;
  do {
    const page = await store.list(tenant, { order: "asc", limit: 200, ...(cursor ? { cursor } : {}) });
    yield* page.data;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

async function* allItems(
  store: SessionStore,
  tenant: string,
  id: string,
  afterSeq = 0,
  page = 1000,
): AsyncGenerator<Item[]> {
  for (let after = afterSeq; ; ) {
    const items = await store.readItems(tenant, id, { afterSeq: after, limit: page });
    if (items.length > 0) yield items;
    if (items.length < page) return;
    after = items.at(-1)!.seq;
  }
}

/** sha256 over pages of items' content JSON, in seq order. */
async function checksumOf(
  pages: AsyncIterable<Item[]> | Iterable<Item[]>,
): Promise<{ count: number; sha256: string }> {
  const hash = createHash("sha256");
  let count = 0;
  for await (const page of pages) {
    for (const item of page) {
      hash.update(`${item.id}\u0000${JSON.stringify(item.content)}\n`);
      count += 1;
    }
  }
  return { count, sha256: hash.digest("hex") };
}

/** sha256 over the items' content JSON, in seq order: equal stores give equal checksums. */
export function sessionChecksum(
  store: SessionStore,
  tenant: string,
  id: string,
): Promise<{ count: number; sha256: string }> {
  return checksumOf(allItems(store, tenant, id));
}

/**
 * A stub left by the lifecycle archiver: archived, counting items the store no longer holds.
 * (A session whose status a caller set to `archived` keeps its items.)
 */
async function isArchiveStub(store: SessionStore, tenant: string, session: Session): Promise<boolean> {
  if (session.status !== "archived" || session.itemCount === 0) return false;
  return (await store.readItems(tenant, session.id, { limit: 1 })).length === 0;
}

/** `items` in pages of `size`. */
function* pagesOf(items: Item[], size: number): Generator<Item[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * The archived items of a stub, or the reason they cannot be copied: no `readArchive`, or an
 * archive that is missing or damaged (other failures, an unreachable backend, stop the run).
 */
async function archivedItems(
  options: MigrateOptions,
  tenant: string,
  session: Session,
): Promise<Item[] | string> {
  const moved = `archived by the lifecycle archiver: its ${session.itemCount} item(s) are in the archive backend, not in the store`;
  if (!options.readArchive)
    return `${moved}; name the source's lifecycle.archive (--config) so they are read from there, or restore the session first`;
  try {
    return (await options.readArchive(tenant, session.id)).items;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "not_found" && code !== "archive_corrupt") throw error;
    // The report is the operator's: it names where the archive was looked for (the error's detail).
    const detail = (error as { detail?: unknown }).detail;
    return `${moved}, and its archive cannot be read: ${(error as Error).message}${typeof detail === "string" ? ` ${detail}` : ""}`;
  }
}

/** What one session's copy did to the target, for undoing it when the session vanishes midway. */
interface Attempt {
  /** The target's copy was created by this run or was short of items: a half copy if cut off. */
  partial: boolean;
  /** Items appended to the target for this session (counted in the report once it is copied). */
  items: number;
}

/** Copies one listed session into the target, verified, and records the outcome in `report`. */
async function copySession(
  source: SessionStore,
  target: SessionStore,
  tenant: string,
  session: Session,
  options: MigrateOptions,
  report: MigrateReport,
  attempt: Attempt,
): Promise<void> {
  const pageSize = options.pageSize ?? 500;
  // A stub's items come from its archive; when they cannot, nothing is copied.
  const archived = (await isArchiveStub(source, tenant, session))
    ? await archivedItems(options, tenant, session)
    : null;
  if (typeof archived === "string") {
    report.mismatches.push({ tenant, sessionId: session.id, reason: archived });
    return;
  }
  const ensured = await ensureSession(target, tenant, session);
  if (ensured === "expired") {
    report.expired.push({ tenant, sessionId: session.id });
    options.onProgress?.({ ...progressOf(report, tenant, session.id), leftOut: "expired" });
    return;
  }
  const { created } = ensured;
  // A copy made earlier keeps the fields it had then: a session changed since, or another
  // session under the same id, must not pass for "all equal".
  const fields = created ? [] : differingFields(session, ensured.session);
  if (fields.length > 0) {
    report.mismatches.push({
      tenant,
      sessionId: session.id,
      reason: `the target's copy differs in ${fields.join(", ")}; delete it there and migrate again`,
    });
    return;
  }
  // Items a source deletion left over in the copy: what the source deleted after they were copied.
  const deleted: string[] = [];
  let kept: string[] = [];
  const dropDeleted = async (): Promise<boolean> => {
    const gone = archived ? null : await itemsDeletedInSource(source, target, tenant, session.id);
    if (!gone) return false;
    if (!options.pruneDeleted) {
      kept = gone;
      return false;
    }
    for (const itemId of gone) await target.deleteItem(tenant, session.id, itemId);
    deleted.push(...gone);
    return true;
  };
  let existing = ensured.session;
  if (existing.itemCount > session.itemCount) {
    if (!(await dropDeleted())) {
      report.mismatches.push({
        tenant,
        sessionId: session.id,
        reason: `the target holds more items than the source${keptNote(kept)}`,
      });
      return;
    }
    existing = await target.get(tenant, session.id);
  }
  // Resume after the last item the target already has; pages are keyed by their first seq.
  // The target holds a prefix of the archived items in order, so those are skipped by count.
  const { after, complete } = archived
    ? { after: existing.itemCount, complete: existing.itemCount === session.itemCount }
    : await resumePoint(source, target, tenant, session, existing);
  attempt.partial = created || !complete;
  // An archived copy refuses appends: reopen it for the items still missing.
  if (!complete && existing.status === "archived")
    await target.update(tenant, session.id, { status: "active" });
  const pages = archived
    ? pagesOf(archived.slice(after), pageSize)
    : allItems(source, tenant, session.id, after, pageSize);
  for await (const page of pages) {
    await target.append(
      tenant,
      session.id,
      page.map((item) => ({
        id: item.id,
        content: item.content,
        tokens: item.tokens,
        ...(item.turnId ? { turnId: item.turnId } : {}),
      })),
      { operationId: `hf-migrate:${page[0]!.seq}` },
    );
    attempt.items += page.length;
  }
  if ((await target.get(tenant, session.id)).status !== session.status)
    await target.update(tenant, session.id, { status: session.status });
  const verify = () =>
    Promise.all([
      archived ? checksumOf([archived]) : sessionChecksum(source, tenant, session.id),
      sessionChecksum(target, tenant, session.id),
    ]);
  let [a, b] = await verify();
  // A copied item the source deleted since is the source's change, not a faulty copy.
  if ((a.count !== b.count || a.sha256 !== b.sha256) && (await dropDeleted())) [a, b] = await verify();
  if (deleted.length > 0) report.deletedInSource.push({ tenant, sessionId: session.id, itemIds: deleted });
  if (!created && complete && existing.status === session.status && deleted.length === 0) report.skipped += 1;
  report.sessions += 1;
  report.items += attempt.items;
  if (a.count !== b.count || a.sha256 !== b.sha256) {
    report.mismatches.push({
      tenant,
      sessionId: session.id,
      reason: `items ${a.count} vs ${b.count}, checksums differ${keptNote(kept)}`,
    });
  }
  options.onProgress?.(progressOf(report, tenant, session.id));
}

/** What a mismatch says of copied items the source no longer holds, left in the target. */
function keptNote(kept: readonly string[]): string {
  if (kept.length === 0) return "";
  const named = kept.slice(0, 5).join(", ") + (kept.length > 5 ? `, … (${kept.length} in all)` : "");
  return `; the target holds ${kept.length} item(s) the source no longer has (${named}): deleted in the source after they were copied, or written to the target since. Re-run with --prune-deleted to remove them from the target`;
}

function progressOf(report: MigrateReport, tenant: string, sessionId: string): MigrateProgress {
  return { tenant, sessions: report.sessions, items: report.items, sessionId };
}

function isNotFound(error: unknown): boolean {
  return isHoldfastError(error) && error.code === "not_found";
}

/**
 * Where the session went, after a `not_found` in the middle of its copy: gone from the source
 * (deleted, or expired), or its copy gone from the target; `null` when both are still there (the
 * `not_found` was about something else and stops the run).
 */
async function vanishedFrom(
  source: SessionStore,
  target: SessionStore,
  tenant: string,
  id: string,
): Promise<"source" | "target" | null> {
  for (const [side, store] of [
    ["source", source],
    ["target", target],
  ] as const) {
    try {
      await store.get(tenant, id);
    } catch (error) {
      if (isNotFound(error)) return side;
      throw error;
    }
  }
  return null;
}

/**
 * A malformed tenant is bad input: refused before anything is copied (not after the tenants
 * before it), naming it. `migrate` calls it; a caller may too, before it opens the stores.
 */
export function checkMigrateTenants(tenants: readonly string[]): void {
  for (const tenant of tenants) {
    try {
      checkTenant(tenant);
    } catch (error) {
      throw new InvalidArgumentError(`Cannot migrate tenant '${tenant}': ${(error as Error).message}`, {
        param: "tenant",
      });
    }
  }
}

export async function migrate(
  source: SessionStore,
  target: SessionStore,
  options: MigrateOptions,
): Promise<MigrateReport> {
  const report: MigrateReport = {
    tenants: 0,
    sessions: 0,
    skipped: 0,
    items: 0,
    mismatches: [],
    expired: [],
    vanished: [],
    deletedInSource: [],
  };
  checkMigrateTenants(options.tenants);
  for (const tenant of options.tenants) {
    report.tenants += 1;
    for await (const session of allSessions(source, tenant)) {
      const attempt: Attempt = { partial: false, items: 0 };
      try {
        await copySession(source, target, tenant, session, options, report, attempt);
      } catch (error) {
        // Deleted or expired while its items were copied: nothing left to copy it from (or to).
        const gone = isNotFound(error) ? await vanishedFrom(source, target, tenant, session.id) : null;
        if (gone === null) throw error;
        // The pages already appended would pass for a session on their own: remove them. A
        // complete copy from an earlier run is left as it was.
        if (attempt.partial) await target.delete(tenant, session.id).catch(ignoreNotFound);
        report.vanished.push({ tenant, sessionId: session.id, gone });
        options.onProgress?.({ ...progressOf(report, tenant, session.id), leftOut: "vanished" });
      }
    }
  }
  return report;
}

function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}

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
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../store/encoding.ts";
import { ConflictError, isHoldfastError } from "../store/errors.ts";
import type { Item, Session, SessionStore } from "../store/types.ts";

export interface MigrateOptions {
  tenants: readonly string[];
  /** Items per append. Default 500. */
  pageSize?: number;
  onProgress?: (progress: MigrateProgress) => void;
  /**
   * The items of a source session the lifecycle archiver moved to cold storage (an archive
   * backend's `read`). Its `not_found` or `archive_corrupt` is reported as that session's mismatch.
   */
  readArchive?: (tenant: string, id: string) => Promise<{ items: Item[] }>;
}

export interface MigrateProgress {
  tenant: string;
  sessions: number;
  items: number;
  sessionId: string;
}

export interface SessionMismatch {
  tenant: string;
  sessionId: string;
  reason: string;
}

/** A session left out because its expiry passed while the migration ran. */
export interface ExpiredSession {
  tenant: string;
  sessionId: string;
}

export interface MigrateReport {
  tenants: number;
  sessions: number;
  /** Sessions already complete in the target (a resumed run skips them). */
  skipped: number;
  items: number;
  mismatches: SessionMismatch[];
  /**
   * Sessions listed in the source that expired before the target could hold them (the target
   * refuses a create whose expiry has passed): left out, not copied, not a mismatch.
   */
  expired: ExpiredSession[];
}

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
    return `${moved}, and its archive cannot be read: ${(error as Error).message}`;
  }
}

/**
 * The source seq to resume after, given the target's copy. The target holds the source's items
 * in order but renumbered 1..n, so with gaps in the source (deleted items) its count is not a
 * source seq: the source seq of the target's newest item is.
 */
async function resumeAfter(
  source: SessionStore,
  target: SessionStore,
  tenant: string,
  session: Session,
  existing: Session,
): Promise<number> {
  if (existing.itemCount === 0 || session.lastSeq === session.itemCount) return existing.itemCount;
  const [newest] = await target.readItems(tenant, session.id, { order: "desc", limit: 1 });
  return newest ? (await source.getItem(tenant, session.id, newest.id)).seq : 0;
}

/**
 * The session fields a copy keeps (the target assigns version, timestamps and fork parent).
 * `status` is not among them: it is set after the items (an archived session refuses appends),
 * so a copy cut short before that differs only there and is finished by the next run.
 */
const KEPT_FIELDS = ["owner", "metadata", "labels", "state", "pinned", "idleTtlMs", "expiresAt"] as const;

/** The kept fields whose values differ between the source session and the target's copy. */
function differingFields(a: Session, b: Session): string[] {
  return KEPT_FIELDS.filter((f) => canonicalJson(a[f]) !== canonicalJson(b[f]));
}

/**
 * The target's copy of `source` (created, without items, when missing) and whether it was new;
 * `"expired"` when the session's expiry passed since it was listed.
 */
async function ensureSession(
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

export async function migrate(
  source: SessionStore,
  target: SessionStore,
  options: MigrateOptions,
): Promise<MigrateReport> {
  const pageSize = options.pageSize ?? 500;
  const report: MigrateReport = {
    tenants: 0,
    sessions: 0,
    skipped: 0,
    items: 0,
    mismatches: [],
    expired: [],
  };
  for (const tenant of options.tenants) {
    report.tenants += 1;
    for await (const session of allSessions(source, tenant)) {
      // A stub's items come from its archive; when they cannot, nothing is copied.
      const archived = (await isArchiveStub(source, tenant, session))
        ? await archivedItems(options, tenant, session)
        : null;
      if (typeof archived === "string") {
        report.mismatches.push({ tenant, sessionId: session.id, reason: archived });
        continue;
      }
      const ensured = await ensureSession(target, tenant, session);
      if (ensured === "expired") {
        report.expired.push({ tenant, sessionId: session.id });
        continue;
      }
      const { session: existing, created } = ensured;
      // A copy made earlier keeps the fields it had then: a session changed since, or another
      // session under the same id, must not pass for "all equal".
      const fields = created ? [] : differingFields(session, existing);
      if (fields.length > 0) {
        report.mismatches.push({
          tenant,
          sessionId: session.id,
          reason: `the target's copy differs in ${fields.join(", ")}; delete it there and migrate again`,
        });
        continue;
      }
      if (existing.itemCount > session.itemCount) {
        report.mismatches.push({
          tenant,
          sessionId: session.id,
          reason: "the target holds more items than the source",
        });
        continue;
      }
      const complete = existing.itemCount === session.itemCount;
      if (!created && complete && existing.status === session.status) report.skipped += 1;
      // An archived copy refuses appends: reopen it for the items still missing.
      if (!complete && existing.status === "archived")
        await target.update(tenant, session.id, { status: "active" });
      // Resume after the last item the target already has; pages are keyed by their first seq.
      // The target holds a prefix of the archived items in order, so those are skipped by count.
      const pages = archived
        ? pagesOf(archived.slice(existing.itemCount), pageSize)
        : allItems(
            source,
            tenant,
            session.id,
            await resumeAfter(source, target, tenant, session, existing),
            pageSize,
          );
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
        report.items += page.length;
      }
      if ((await target.get(tenant, session.id)).status !== session.status)
        await target.update(tenant, session.id, { status: session.status });
      report.sessions += 1;
      const [a, b] = await Promise.all([
        archived ? checksumOf([archived]) : sessionChecksum(source, tenant, session.id),
        sessionChecksum(target, tenant, session.id),
      ]);
      if (a.count !== b.count || a.sha256 !== b.sha256) {
        report.mismatches.push({
          tenant,
          sessionId: session.id,
          reason: `items ${a.count} vs ${b.count}, checksums differ`,
        });
      }
      options.onProgress?.({ tenant, sessions: report.sessions, items: report.items, sessionId: session.id });
    }
  }
  return report;
}

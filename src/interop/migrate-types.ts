/** What `migrate` takes and reports (migrate.ts): its options, progress and report shapes. */
import type { Item } from "../store/types.ts";

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
  /**
   * Remove from a copy the items the source deleted after they were copied (reported in
   * `deletedInSource`). Off by default: such items cannot be told apart from items written to the
   * target since, so without it they stay and the session is a mismatch naming them.
   */
  pruneDeleted?: boolean;
}

export interface MigrateProgress {
  tenant: string;
  sessions: number;
  items: number;
  sessionId: string;
  /**
   * Set when this session was left out instead of copied: `expired` before the target could
   * create it, `vanished` (deleted or expired) while its items were being copied.
   */
  leftOut?: "expired" | "vanished";
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

/** Items of a session that the source deleted after they were copied. */
export interface DeletedItems {
  tenant: string;
  sessionId: string;
  /** Their ids; they were removed from the copy too. */
  itemIds: string[];
}

/** A session deleted or expired while its items were being copied. */
export interface VanishedSession {
  tenant: string;
  sessionId: string;
  /** Where it went missing: the source session, or the copy in the target. */
  gone: "source" | "target";
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
  /**
   * Sessions deleted or expired (in the source, or their copy in the target) while their items
   * were being copied: left out, and the partial copy this run had made removed from the target.
   */
  vanished: VanishedSession[];
  /**
   * Items the source deleted after they had been copied (while this run copied the session, or
   * since an interrupted run did): removed from the copy as well, so it equals the source again;
   * not a mismatch.
   */
  deletedInSource: DeletedItems[];
}

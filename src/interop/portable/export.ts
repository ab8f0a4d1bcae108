/**
 * `exportSessions`: streams sessions of a tenant into the portable format, page by page (1,000
 * sessions, 1,000 items per store read), honouring the writable's backpressure, so memory stays
 * constant whatever the size of the export. Uses only the SessionStore contract.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { ConflictError } from "../../store/errors.ts";
import type { Item, ListQuery, Session, SessionStore } from "../../store/types.ts";
import { PortableWriter } from "./format.ts";

export interface ExportSelection {
  /** Export exactly these sessions, in this order. */
  ids?: string[];
  /** Otherwise: every session matching this list filter (oldest first). */
  filter?: Omit<ListQuery, "cursor" | "limit" | "order">;
}

export interface PortableProgress {
  sessions: number;
  items: number;
  bytes: number;
}

export interface ExportOptions {
  /** Called after each session. */
  onProgress?: (progress: PortableProgress) => void;
  /** Manifest timestamp; injectable for reproducible files. */
  now?: Date;
  /**
   * The items of a session the lifecycle archiver moved to cold storage (an archive backend's
   * `read`). Without it an export that meets such a stub fails rather than write it without them.
   */
  readArchive?: (tenant: string, id: string) => Promise<{ items: Item[] }>;
  /**
   * Run on every selected session in a first pass over the selection, before anything is
   * written: throwing stops the export with no output at all, where a failure met while writing
   * would leave the sessions before it on a stream (stdout) with no trailer. The CLI refuses an
   * encrypted session it has no keys for here (`encryptedSessionCheck`).
   */
  preflight?: (tenant: string, session: Session) => Promise<void>;
}

export interface ExportSummary extends PortableProgress {
  sha256: string;
}

const PAGE = 1000;
const CHUNK_BYTES = 64 * 1024;

async function* selectSessions(
  store: SessionStore,
  tenant: string,
  selection: ExportSelection,
): AsyncGenerator<Session> {
  if (selection.ids) {
    for (const id of selection.ids) yield await store.get(tenant, id);
    return;
  }
  let cursor: string | undefined;
  do {
    const page = await store.list(tenant, { ...selection.filter, order: "asc", limit: PAGE, cursor });
    yield* page.data;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/** Every item of a session, ascending, one store page at a time. */
export async function* sessionItems(store: SessionStore, tenant: string, id: string): AsyncGenerator<Item> {
  let afterSeq = 0;
  for (;;) {
    const page = await store.readItems(tenant, id, { afterSeq, limit: PAGE });
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < PAGE) return;
    afterSeq = last.seq;
  }
}

/**
 * A session's items: from the store, or for a stub the lifecycle archiver left (archived,
 * counting items the store no longer holds) from its archive. Every export of a session's items
 * (portable, OpenClaw transcript) reads them through here, so none writes a stub without them.
 */
export async function* exportedItems(
  store: SessionStore,
  tenant: string,
  session: Session,
  readArchive: ExportOptions["readArchive"],
): AsyncGenerator<Item> {
  let any = false;
  for await (const item of sessionItems(store, tenant, session.id)) {
    any = true;
    yield item;
  }
  if (any || session.status !== "archived" || session.itemCount === 0) return;
  if (!readArchive) {
    throw new ConflictError(
      `Session '${session.id}' was archived by the lifecycle archiver: its ${session.itemCount} item(s) are in the archive backend, not in the store. ` +
        "Export with readArchive (CLI: --config naming that lifecycle.archive, or --archive-dir), or restore the session first.",
      { param: "session_id" },
    );
  }
  yield* (await readArchive(tenant, session.id)).items;
}

/** The export as an async iterable of text chunks (lines grouped up to ~64 KB). */
export async function* exportChunks(
  store: SessionStore,
  tenant: string,
  selection: ExportSelection = {},
  options: ExportOptions & { onDone?: (summary: ExportSummary) => void } = {},
): AsyncGenerator<string> {
  if (options.preflight) {
    for await (const session of selectSessions(store, tenant, selection))
      await options.preflight(tenant, session);
  }
  const writer = new PortableWriter();
  const progress: PortableProgress = { sessions: 0, items: 0, bytes: 0 };
  let buffer = writer.manifest({ driver: store.driverName, tenant }, options.now);
  const flush = (): string => {
    const out = buffer;
    progress.bytes += Buffer.byteLength(out);
    buffer = "";
    return out;
  };
  for await (const session of selectSessions(store, tenant, selection)) {
    buffer += writer.session(session);
    for await (const item of exportedItems(store, tenant, session, options.readArchive)) {
      buffer += writer.item(item);
      progress.items++;
      if (buffer.length >= CHUNK_BYTES) yield flush();
    }
    buffer += writer.endSession();
    progress.sessions++;
    options.onProgress?.({ ...progress });
  }
  const trailer = writer.trailer();
  buffer += trailer.text;
  yield flush();
  options.onDone?.({ ...progress, sha256: trailer.sha256 });
}

/** Writes the export to `writable` (not ended, so it can be stdout); resolves with totals and checksum. */
export async function exportSessions(
  store: SessionStore,
  tenant: string,
  selection: ExportSelection,
  writable: Writable,
  options: ExportOptions = {},
): Promise<ExportSummary> {
  let summary: ExportSummary | undefined;
  for await (const chunk of exportChunks(store, tenant, selection, {
    ...options,
    onDone: (s) => {
      summary = s;
    },
  })) {
    if (!writable.write(chunk)) await once(writable, "drain");
  }
  return summary as ExportSummary;
}

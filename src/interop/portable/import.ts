/**
 * `importSessions`: reads a portable export (plain, or gzip/zstd-compressed) and recreates its sessions in a store through the
 * SessionStore contract. Each session is written only after its checksum verified; it is created
 * with its first 1,000 items in one atomic call and, past that, completed by appends carrying
 * operation ids — if one fails, or `signal` aborts between them, the partial session is deleted,
 * so nothing half-imported stays.
 * Item ids, content, token counts and turn ids are kept; the content JSON is byte-identical.
 * Session timestamps, version and fork parent are the target store's own (the contract assigns
 * them); the original values stay readable in the file.
 */
import type { Readable } from "node:stream";
import { ENC_FIELD } from "../../security/encryption/content-crypto.ts";
import { ConflictError, isHoldfastError } from "../../store/errors.ts";
import type { Item, ItemInput, SessionStore } from "../../store/types.ts";
import { LIMITS } from "../../store/validate.ts";
import { decompressed } from "./compression.ts";
import type { PortableProgress } from "./export.ts";
import { type ManifestLine, PortableFormatError } from "./format.ts";
import { type PortableSessionBlock, readPortable } from "./reader.ts";

export const CONFLICT_POLICIES = ["skip", "fail"] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

export interface ImportOptions {
  /** What to do when a session id already exists in the target: keep it (`skip`) or stop (`fail`, default). */
  onConflict?: ConflictPolicy;
  onProgress?: (progress: PortableProgress & { skipped: number }) => void;
  /**
   * Opens the same input again from its start (a regular file; a stream cannot be read twice).
   * With `onConflict: "fail"` the import then reads it twice: a first pass checks every session id
   * of the file against the target, so a conflict imports nothing.
   * Without it a conflict stops the import after the sessions before it, and the error says how many.
   */
  reopen?: () => Readable | AsyncIterable<Buffer | string>;
  /**
   * Stops the import (Ctrl-C): checked before each session and each append of a long one. The
   * session being written is deleted, the sessions before it stay, and the import rejects with
   * `signal.reason`.
   */
  signal?: AbortSignal;
  /**
   * Content sealed by encryption at rest (an item or a state holding `hf_enc`, as in an export an
   * older Holdfast made without the keys): `"copy"` (default) writes it as stored, the raw copy
   * `migrate` makes too, for a plain store that also gets the sessions' data keys; `"refuse"` stops
   * at the first session holding any, before writing it (with `reopen`, before writing anything),
   * naming its line. Refuse it wherever it would be read as content: as plaintext, or through
   * `withEncryption`, which would seal the ciphertext again. The CLI refuses it.
   */
  sealed?: "copy" | "refuse";
}

/** How many conflicting ids an error lists before "and N more". */
const LISTED_IDS = 5;
/** Existence reads in flight at once during the first pass. */
const CHECKS_AT_ONCE = 16;

export interface ImportSummary {
  manifest: ManifestLine | null;
  imported: number;
  skipped: number;
  skippedIds: string[];
  /**
   * Sessions of the file whose `expiresAt` has passed: the target refuses to create a session
   * that would be expired on arrival, so they are left out (they stay readable in the file).
   */
  expiredIds: string[];
  items: number;
}

function toInput(item: Item): ItemInput {
  const input: ItemInput = { id: item.id, content: item.content, tokens: item.tokens };
  if (item.turnId !== null) input.turnId = item.turnId;
  return input;
}

async function exists(store: SessionStore, tenant: string, id: string): Promise<boolean> {
  try {
    await store.get(tenant, id);
    return true;
  } catch (error) {
    if (isHoldfastError(error) && error.code === "not_found") return false;
    throw error;
  }
}

/**
 * The refusal of a session of the file holding sealed content (see `ImportOptions.sealed`), or
 * null. `stays` says what the import leaves behind.
 */
function sealedContentError(block: PortableSessionBlock, stays: string): PortableFormatError | null {
  const { session, items, line } = block;
  const at = (offset: number): number | null => (line === undefined ? null : line + offset);
  const index = items.findIndex((item) => typeof item.content?.[ENC_FIELD] === "string");
  const sealedState = typeof session.state?.[ENC_FIELD] === "string";
  if (index < 0 && !sealedState) return null;
  const what =
    index >= 0
      ? `item '${items[index]?.id}' of session '${session.id}'`
      : `the state of session '${session.id}'`;
  return new PortableFormatError(
    `${what} holds content sealed by encryption at rest ('${ENC_FIELD}'), as an export made without the keys by an older Holdfast does: ` +
      "imported, its ciphertext would be stored as its content. Export the sessions again with HOLDFAST_KEYS or HOLDFAST_KEY_FILE set " +
      `(the keys \`holdfast serve\` uses; the export then holds their plaintext), or copy the store with \`holdfast migrate\` (with --tenant _hf_data_key) instead. ${stays}.`,
    index >= 0 ? at(1 + index) : at(0),
  );
}

/**
 * The first pass over a file that can be read twice: the ids of its sessions that already exist
 * in `tenant` (when `conflicts`), and with `sealed` a refusal of sealed content, thrown before
 * anything is written. Damage ends the pass: the import itself then writes the sessions before it
 * and stops there, as it does without a first pass.
 */
async function firstPass(
  store: SessionStore,
  tenant: string,
  input: Readable | AsyncIterable<Buffer | string>,
  signal: AbortSignal | undefined,
  check: { conflicts: boolean; sealed: boolean },
): Promise<string[]> {
  const ids: string[] = [];
  let refusal: PortableFormatError | null = null;
  try {
    for await (const block of readPortable(decompressed(input))) {
      signal?.throwIfAborted();
      refusal = check.sealed ? sealedContentError(block, "Nothing was imported") : null;
      if (refusal) break;
      ids.push(block.session.id);
    }
  } catch (error) {
    if (!isHoldfastError(error) || error.fault !== "caller") throw error;
  }
  if (refusal) throw refusal;
  if (!check.conflicts) return [];
  const taken: string[] = [];
  for (let i = 0; i < ids.length; i += CHECKS_AT_ONCE) {
    const batch = ids.slice(i, i + CHECKS_AT_ONCE);
    const found = await Promise.all(batch.map((id) => exists(store, tenant, id)));
    taken.push(...batch.filter((_, j) => found[j]));
  }
  return taken;
}

function listIds(ids: readonly string[]): string {
  const shown = ids
    .slice(0, LISTED_IDS)
    .map((id) => `'${id}'`)
    .join(", ");
  return ids.length > LISTED_IDS ? `${shown} and ${ids.length - LISTED_IDS} more` : shown;
}

/** Creates the session with its items; `taken` when its id already exists, `expired` when its expiry passed. */
async function writeSession(
  store: SessionStore,
  tenant: string,
  block: PortableSessionBlock,
  signal: AbortSignal | undefined,
): Promise<"written" | "taken" | "expired"> {
  const { session, items } = block;
  const chunk = LIMITS.itemsPerAppend;
  try {
    await store.create(tenant, {
      id: session.id,
      owner: session.owner,
      metadata: session.metadata,
      labels: session.labels,
      state: session.state,
      idleTtlMs: session.idleTtlMs,
      expiresAt: session.expiresAt,
      pinned: session.pinned,
      items: items.slice(0, chunk).map(toInput),
    });
  } catch (error) {
    if (isHoldfastError(error) && error.code === "conflict" && error.param === "id") return "taken";
    // The store's own clock decides: nothing was written.
    if (isHoldfastError(error) && error.code === "invalid_argument" && error.param === "expires_at")
      return "expired";
    throw error;
  }
  try {
    for (let start = chunk; start < items.length; start += chunk) {
      signal?.throwIfAborted();
      await store.append(tenant, session.id, items.slice(start, start + chunk).map(toInput), {
        operationId: `portable-import:${session.id}:${start}`,
      });
    }
    if (session.status !== "active") await store.update(tenant, session.id, { status: session.status });
  } catch (error) {
    await store.delete(tenant, session.id).catch(() => undefined);
    throw error;
  }
  return "written";
}

/** Imports every verified session of `readable` into `tenant`; see the module comment for guarantees. */
export async function importSessions(
  store: SessionStore,
  tenant: string,
  readable: Readable | AsyncIterable<Buffer | string>,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const onConflict = options.onConflict ?? "fail";
  const refuseSealed = options.sealed === "refuse";
  if (options.reopen && (onConflict === "fail" || refuseSealed)) {
    const check = { conflicts: onConflict === "fail", sealed: refuseSealed };
    const taken = await firstPass(store, tenant, options.reopen(), options.signal, check);
    if (taken.length > 0) {
      throw new ConflictError(
        `${taken.length} session(s) of the file already exist in the target: ${listIds(taken)}; nothing was imported. ` +
          `Import with onConflict "skip" to keep them and import the others.`,
        { param: "id" },
      );
    }
  }
  const summary: ImportSummary = {
    manifest: null,
    imported: 0,
    skipped: 0,
    skippedIds: [],
    expiredIds: [],
    items: 0,
  };
  let bytes = 0;
  const blocks = readPortable(decompressed(readable), {
    onManifest: (m) => {
      summary.manifest = m;
    },
  });
  for await (const block of blocks) {
    options.signal?.throwIfAborted();
    if (refuseSealed) {
      const stays =
        summary.imported === 0
          ? "Nothing was imported"
          : `The ${summary.imported} session(s) before it in the file were imported and stay`;
      const refusal = sealedContentError(block, stays);
      if (refusal) throw refusal;
    }
    // The get catches the usual case early; the create's own conflict covers a session that is
    // invisible (expired, not yet swept) but still holds its id.
    const outcome = (await exists(store, tenant, block.session.id))
      ? "taken"
      : await writeSession(store, tenant, block, options.signal);
    if (outcome === "expired") summary.expiredIds.push(block.session.id);
    else if (outcome === "written") {
      summary.imported++;
      summary.items += block.items.length;
      for (const item of block.items) bytes += item.bytes;
    } else if (onConflict === "fail") {
      // Reached without a first pass (a stream), or for a session the first pass could not see
      // (invisible: expired, not yet swept) or one written since: say what stays imported.
      const before =
        summary.imported === 0
          ? "nothing was imported"
          : `the ${summary.imported} session(s) before it in the file were imported and stay`;
      throw new ConflictError(
        `Session '${block.session.id}' already exists in the target; ${before}. ` +
          `Import with onConflict "skip" to keep it${summary.imported === 0 ? "" : " and import the rest"}.`,
        { param: "id" },
      );
    } else {
      summary.skipped++;
      summary.skippedIds.push(block.session.id);
    }
    options.onProgress?.({
      sessions: summary.imported,
      items: summary.items,
      bytes,
      skipped: summary.skipped,
    });
  }
  return summary;
}

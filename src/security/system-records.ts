/**
 * System records (API keys, tenants, signing keys, refresh-token families, revocations, wrapped
 * data keys) stored through the ordinary SessionStore contract, so every driver persists them
 * with no second storage interface. Each kind lives in a reserved tenant `_hf_<kind>`; a record
 * is one session whose id is derived from a hash of (kind, key), so a lookup is one `store.get`.
 * The record body is kept as a JSON string inside the session `state`, so an update replaces it
 * wholesale (JSON Merge Patch would otherwise treat `null` fields as deletions), and updates are
 * compare-and-swap on the session version.
 */
import { ConflictError, InvalidArgumentError, isHoldfastError } from "../store/errors.ts";
import type { Session, SessionStore } from "../store/types.ts";
import { sha256Hex } from "./secrets.ts";

/** Tenants starting with this prefix hold system records; user-facing tenants may not use it. */
export const RESERVED_TENANT_PREFIX = "_hf";
const RECORD_SCHEMA = 1;
const KIND_PATTERN = /^[a-z][a-z0-9_]{0,30}$/;

/** Whether `name` is reserved for system records (tenant creation must reject it). */
export function isReservedTenant(name: string): boolean {
  return name.toLowerCase().startsWith(RESERVED_TENANT_PREFIX);
}

export interface SystemRecord<T> {
  key: string;
  data: T;
  /** Session version: pass it back as `expectedVersion` to update. */
  version: number;
  /** Secondary lookup value given at creation (stored as the session owner), e.g. a tenant. */
  index: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface CreateRecordOptions {
  /** Secondary lookup value (≤ 256 chars) that `list(kind, { index })` filters on. */
  index?: string;
  /** Absolute expiry (epoch ms): the record becomes invisible on every driver at that instant. */
  expiresAt?: number;
}

export interface SystemRecords {
  /** The store the records live in. */
  readonly store: SessionStore;
  get<T>(kind: string, key: string): Promise<SystemRecord<T> | null>;
  /** Creates a record; `conflict` when one exists under (kind, key). */
  create<T>(kind: string, key: string, data: T, options?: CreateRecordOptions): Promise<SystemRecord<T>>;
  /** Replaces the body; `conflict` unless the record is still at `expectedVersion`. */
  update<T>(kind: string, key: string, data: T, expectedVersion: number): Promise<SystemRecord<T>>;
  /** Deletes the record; false when there was none. */
  delete(kind: string, key: string): Promise<boolean>;
  /** Every record of a kind (optionally only one index value), oldest first. */
  list<T>(kind: string, options?: { index?: string }): AsyncIterable<SystemRecord<T>>;
}

/** The reserved tenant holding records of `kind`. */
export function systemTenant(kind: string): string {
  if (!KIND_PATTERN.test(kind)) {
    throw new InvalidArgumentError(`System record kind '${kind}' must be lowercase letters, digits or '_'.`);
  }
  return `${RESERVED_TENANT_PREFIX}_${kind}`;
}

/** The deterministic session id of a record: `conv_` + 32 hex of sha256(kind \0 key). */
export function systemRecordId(kind: string, key: string): string {
  return `conv_${sha256Hex(`${kind}\u0000${key}`).slice(0, 32)}`;
}

function toRecord<T>(session: Session): SystemRecord<T> {
  const state = session.state;
  if (state.v !== RECORD_SCHEMA || typeof state.key !== "string" || typeof state.data !== "string") {
    throw new InvalidArgumentError(
      `System record ${session.tenant}/${session.id} has schema ${JSON.stringify(state.v)}, this version reads ${RECORD_SCHEMA}; upgrade Holdfast.`,
    );
  }
  return {
    key: state.key,
    data: JSON.parse(state.data) as T,
    version: session.version,
    index: session.owner,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
  };
}

function isCode(error: unknown, code: string): boolean {
  return isHoldfastError(error) && error.code === code;
}

/** Wraps a SessionStore into the system-record API. */
export function createSystemRecords(store: SessionStore): SystemRecords {
  return Object.freeze({
    store,
    async get<T>(kind: string, key: string): Promise<SystemRecord<T> | null> {
      try {
        return toRecord<T>(await store.get(systemTenant(kind), systemRecordId(kind, key)));
      } catch (error) {
        if (isCode(error, "not_found")) return null;
        throw error;
      }
    },
    async create<T>(
      kind: string,
      key: string,
      data: T,
      options: CreateRecordOptions = {},
    ): Promise<SystemRecord<T>> {
      const session = await store.create(systemTenant(kind), {
        id: systemRecordId(kind, key),
        owner: options.index ?? null,
        expiresAt: options.expiresAt ?? null,
        state: { v: RECORD_SCHEMA, key, data: JSON.stringify(data) },
      });
      return toRecord<T>(session);
    },
    async update<T>(kind: string, key: string, data: T, expectedVersion: number): Promise<SystemRecord<T>> {
      const session = await store.patchState(
        systemTenant(kind),
        systemRecordId(kind, key),
        { data: JSON.stringify(data) },
        { expectedVersion },
      );
      if (session.state.key !== key) throw new ConflictError(`System record id collision for '${kind}'.`);
      return toRecord<T>(session);
    },
    async delete(kind: string, key: string): Promise<boolean> {
      try {
        await store.delete(systemTenant(kind), systemRecordId(kind, key));
        return true;
      } catch (error) {
        if (isCode(error, "not_found")) return false;
        throw error;
      }
    },
    async *list<T>(kind: string, options: { index?: string } = {}): AsyncIterable<SystemRecord<T>> {
      let cursor: string | undefined;
      do {
        const page = await store.list(systemTenant(kind), {
          order: "asc",
          limit: 1000,
          ...(options.index === undefined ? {} : { owner: options.index }),
          ...(cursor === undefined ? {} : { cursor }),
        });
        for (const session of page.data) yield toRecord<T>(session);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
    },
  });
}

/**
 * Read-modify-write with compare-and-swap: `change` gets the current body (or null) and returns
 * the next one, or `undefined` to leave it. Retries on a concurrent write.
 */
export async function mutateRecord<T>(
  records: SystemRecords,
  kind: string,
  key: string,
  change: (current: T | null) => T | undefined,
  options: CreateRecordOptions = {},
): Promise<SystemRecord<T> | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const current = await records.get<T>(kind, key);
    const next = change(current?.data ?? null);
    if (next === undefined) return current;
    try {
      return current === null
        ? await records.create(kind, key, next, options)
        : await records.update(kind, key, next, current.version);
    } catch (error) {
      if (!isCode(error, "conflict")) throw error;
    }
  }
  throw new ConflictError(`Too much contention on system record '${kind}'; retry.`);
}

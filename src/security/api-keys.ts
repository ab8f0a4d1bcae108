/**
 * API keys: `hf_` + 256 random bits (base64url). Only a SHA-256 hash is stored, with a short
 * non-secret prefix for listing. The key id is derived from the secret (a domain-separated hash),
 * so authentication is one record lookup followed by a constant-time hash comparison.
 */
import { InvalidArgumentError, NotFoundError } from "../store/errors.ts";
import { InvalidApiKeyError } from "./errors.ts";
import { type Principal, parseScopes, type Scope } from "./scopes.ts";
import { digestsEqual, randomSecret, sha256Hex } from "./secrets.ts";
import { mutateRecord, type SystemRecords } from "./system-records.ts";
import { checkTenantName } from "./tenants.ts";

const KIND = "api_key";
export const API_KEY_PREFIX = "hf_";
const API_KEY_PATTERN = /^hf_[A-Za-z0-9_-]{43}$/;
const KEY_ID_PATTERN = /^key_[0-9a-f]{24}$/;

/** What listing shows: never the secret nor its hash. */
export interface ApiKeyInfo {
  keyId: string;
  tenant: string;
  name: string | null;
  scopes: Scope[];
  /** First characters of the secret (`hf_AbCd…`), enough to recognise a key, useless to use it. */
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revoked: boolean;
  /** Set on a key replaced by `rotate`: the id of its successor. */
  rotatedTo: string | null;
}

interface ApiKeyRecord extends ApiKeyInfo {
  hash: string;
}

export interface CreateApiKeyInput {
  tenant: string;
  scopes: readonly string[] | string;
  name?: string;
  /** Absolute expiry, epoch ms. */
  expiresAt?: number | null;
}

export interface CreatedApiKey {
  /** The secret: shown once, never stored. */
  secret: string;
  key: ApiKeyInfo;
}

export interface ApiKeysOptions {
  records: SystemRecords;
  clock?: () => number;
  /**
   * How long a verified key is trusted from an in-process cache (ms, 0-1000, default 1000), so
   * revocation reaches every instance within a second while hot keys cost no store read.
   */
  cacheTtlMs?: number;
  /** `lastUsedAt` is written at most this often per key (ms, default 60 000). */
  lastUsedResolutionMs?: number;
}

export interface ApiKeys {
  create(input: CreateApiKeyInput): Promise<CreatedApiKey>;
  list(tenant: string): Promise<ApiKeyInfo[]>;
  get(keyId: string): Promise<ApiKeyInfo>;
  revoke(keyId: string): Promise<ApiKeyInfo>;
  /** New secret with the same tenant, scopes and name; the old key is revoked, or expires after `graceMs`. */
  rotate(keyId: string, options?: { graceMs?: number }): Promise<CreatedApiKey>;
  /** Principal for a presented secret, or `invalid_api_key`. */
  authenticate(secret: string): Promise<Principal>;
}

export function keyIdFor(secret: string): string {
  return `key_${sha256Hex(`holdfast-key-id\u0000${secret}`).slice(0, 24)}`;
}

function alreadyRotated(keyId: string, successor: string | null): InvalidArgumentError {
  return new InvalidArgumentError(
    `API key '${keyId}' was already rotated to '${successor}'; rotate that key instead.`,
    { param: "key_id" },
  );
}

function info(record: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...rest } = record;
  return rest;
}

export function createApiKeys(options: ApiKeysOptions): ApiKeys {
  const { records } = options;
  const clock = options.clock ?? Date.now;
  const cacheTtlMs = options.cacheTtlMs ?? 1000;
  if (!Number.isFinite(cacheTtlMs) || cacheTtlMs < 0 || cacheTtlMs > 1000) {
    throw new InvalidArgumentError("cacheTtlMs must be 0-1000 so revocation applies within a second.");
  }
  const lastUsedResolutionMs = options.lastUsedResolutionMs ?? 60_000;
  const cache = new Map<string, { record: ApiKeyRecord; at: number }>();
  const MAX_CACHE = 10_000;

  async function load(keyId: string): Promise<ApiKeyRecord> {
    if (!KEY_ID_PATTERN.test(keyId)) {
      throw new InvalidArgumentError("Key ids look like 'key_' + 24 hex characters.", { param: "key_id" });
    }
    const record = await records.get<ApiKeyRecord>(KIND, keyId);
    if (!record) throw new NotFoundError(`No API key with id '${keyId}'.`, { param: "key_id" });
    return record.data;
  }

  async function change(keyId: string, edit: (r: ApiKeyRecord) => ApiKeyRecord): Promise<ApiKeyRecord> {
    await load(keyId);
    const saved = await mutateRecord<ApiKeyRecord>(records, KIND, keyId, (r) => (r ? edit(r) : undefined));
    cache.delete(keyId);
    if (!saved) throw new NotFoundError(`No API key with id '${keyId}'.`, { param: "key_id" });
    return saved.data;
  }

  async function create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const tenant = checkTenantName(input.tenant);
    const scopes = parseScopes(input.scopes);
    if (scopes.length === 0) throw new InvalidArgumentError("Give at least one scope.", { param: "scopes" });
    if (input.name !== undefined && (typeof input.name !== "string" || input.name.length > 128)) {
      throw new InvalidArgumentError("Key names are strings of at most 128 characters.", { param: "name" });
    }
    const expiresAt = input.expiresAt ?? null;
    // A key born expired (a past instant, a typo in seconds instead of ms) authenticates nothing.
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= clock())) {
      throw new InvalidArgumentError("expiresAt must be a future instant (epoch ms) or null.", {
        param: "expires_at",
      });
    }
    const secret = `${API_KEY_PREFIX}${randomSecret(32)}`;
    const record: ApiKeyRecord = {
      keyId: keyIdFor(secret),
      tenant,
      name: input.name ?? null,
      scopes,
      prefix: `${secret.slice(0, 8)}…`,
      createdAt: clock(),
      lastUsedAt: null,
      expiresAt,
      revoked: false,
      rotatedTo: null,
      hash: sha256Hex(secret),
    };
    await records.create(KIND, record.keyId, record, { index: tenant });
    return { secret, key: info(record) };
  }

  async function authenticate(secret: string): Promise<Principal> {
    if (typeof secret !== "string" || !API_KEY_PATTERN.test(secret)) throw new InvalidApiKeyError();
    const keyId = keyIdFor(secret);
    const now = clock();
    let cached = cache.get(keyId);
    if (!cached || now - cached.at >= cacheTtlMs) {
      const found = await records.get<ApiKeyRecord>(KIND, keyId);
      if (!found) throw new InvalidApiKeyError();
      cached = { record: found.data, at: now };
      cache.delete(keyId);
      if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
      cache.set(keyId, cached);
    }
    const record = cached.record;
    if (!digestsEqual(record.hash, sha256Hex(secret))) throw new InvalidApiKeyError();
    if (record.revoked || (record.expiresAt !== null && record.expiresAt <= now)) {
      throw new InvalidApiKeyError();
    }
    if (record.lastUsedAt === null || now - record.lastUsedAt >= lastUsedResolutionMs) {
      record.lastUsedAt = now;
      // Best effort and off the request path: a lost race only loses a timestamp.
      void mutateRecord<ApiKeyRecord>(records, KIND, keyId, (r) =>
        r ? { ...r, lastUsedAt: Math.max(r.lastUsedAt ?? 0, now) } : undefined,
      ).catch(() => undefined);
    }
    return {
      kind: "api_key",
      tenant: record.tenant,
      scopes: record.scopes,
      keyId,
      owner: null,
      conversationId: null,
    };
  }

  return Object.freeze({
    create,
    authenticate,
    async list(tenant: string): Promise<ApiKeyInfo[]> {
      const out: ApiKeyInfo[] = [];
      for await (const r of records.list<ApiKeyRecord>(KIND, { index: checkTenantName(tenant) })) {
        out.push(info(r.data));
      }
      return out;
    },
    async get(keyId: string): Promise<ApiKeyInfo> {
      return info(await load(keyId));
    },
    async revoke(keyId: string): Promise<ApiKeyInfo> {
      return info(await change(keyId, (r) => ({ ...r, revoked: true })));
    },
    async rotate(keyId: string, opts: { graceMs?: number } = {}): Promise<CreatedApiKey> {
      const old = await load(keyId);
      if (old.revoked) throw new InvalidArgumentError(`API key '${keyId}' is revoked; create a new one.`);
      // A rotated key in its grace period carries the grace end as its expiry: a successor made
      // from it would inherit that and die with it (a retried rotate did exactly this).
      if (old.rotatedTo !== null) {
        throw alreadyRotated(keyId, old.rotatedTo);
      }
      if (old.expiresAt !== null && old.expiresAt <= clock()) {
        throw new InvalidArgumentError(`API key '${keyId}' has expired; create a new one.`, {
          param: "key_id",
        });
      }
      const graceMs = opts.graceMs ?? 0;
      if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
        throw new InvalidArgumentError("graceMs must be a non-negative integer.", { param: "grace_ms" });
      }
      const created = await create({
        tenant: old.tenant,
        scopes: old.scopes,
        ...(old.name === null ? {} : { name: old.name }),
        expiresAt: old.expiresAt,
      });
      const until = clock() + graceMs;
      const saved = await change(keyId, (r) => {
        if (r.rotatedTo !== null) return r; // a concurrent rotation won
        return graceMs === 0
          ? { ...r, revoked: true, rotatedTo: created.key.keyId }
          : { ...r, expiresAt: Math.min(r.expiresAt ?? until, until), rotatedTo: created.key.keyId };
      });
      if (saved.rotatedTo !== created.key.keyId) {
        await change(created.key.keyId, (r) => ({ ...r, revoked: true }));
        throw alreadyRotated(keyId, saved.rotatedTo);
      }
      return created;
    },
  });
}

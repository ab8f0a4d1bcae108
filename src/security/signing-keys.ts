/**
 * Per-tenant signing keys for end-user access tokens: Ed25519 (JWS `EdDSA`) generated on first
 * use and kept as private JWKs in system records (`_hf_signing_key`), newest first, each with a
 * `kid`. `jwks(tenant)` is what a tenant publishes so others can verify its tokens.
 */
import { setTimeout as delay } from "node:timers/promises";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { InvalidArgumentError } from "../store/errors.ts";
import { randomSecret } from "./secrets.ts";
import { mutateRecord, type SystemRecords } from "./system-records.ts";

const KIND = "signing_key";
/** The only JWS algorithm Holdfast signs with and accepts for its own tokens. */
export const SIGNING_ALGORITHM = "EdDSA";

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  createdAt: number;
}

interface TenantKeys {
  keys: StoredKey[];
}

export interface SigningKey {
  kid: string;
  key: CryptoKey;
}

export interface SigningKeys {
  /** The tenant's active signing key, created on first use. */
  active(tenant: string): Promise<SigningKey>;
  /**
   * The public key with this kid, or null. An unknown kid reloads the tenant's keys (a key
   * rotated in on another instance), at most once per `unknownKidReloadMs`: a caller waits for
   * the next reload, which every caller of that moment shares.
   */
  verificationKey(tenant: string, kid: string): Promise<CryptoKey | null>;
  /** Adds a new active key; older keys keep verifying until `retire`d. */
  rotate(tenant: string): Promise<string>;
  /** Public JWKS (`{ keys: [...] }`) for publication at e.g. `/.well-known/jwks.json`. */
  jwks(tenant: string): Promise<{ keys: JWK[] }>;
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, ...rest } = jwk;
  return { ...rest, alg: SIGNING_ALGORITHM, use: "sig" };
}

async function newKey(now: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { crv: "Ed25519", extractable: true });
  const kid = `sk_${randomSecret(12)}`;
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), kid }, createdAt: now };
}

export function createSigningKeys(options: {
  records: SystemRecords;
  /**
   * Keys from configuration instead of the store: tenant → private Ed25519 JWKs (each with a
   * `kid`), newest first. Such tenants never get generated keys and cannot be rotated here.
   */
  configured?: Readonly<Record<string, readonly JWK[]>>;
  clock?: () => number;
  /** How long loaded keys are trusted before a reload (ms, default 300 000). */
  cacheTtlMs?: number;
  /** Most tenants whose keys are kept in memory (default 10 000; the least recently loaded goes). */
  maxCachedTenants?: number;
  /**
   * Least time between two store reads of a tenant's keys for tokens naming a kid not in memory
   * (ms, default 1 000): forged kids would otherwise cost a store read each. A key rotated in
   * on another instance verifies here at most this long after it was stored.
   */
  unknownKidReloadMs?: number;
}): SigningKeys {
  const { records } = options;
  const clock = options.clock ?? Date.now;
  const ttl = options.cacheTtlMs ?? 300_000;
  const maxTenants = options.maxCachedTenants ?? 10_000;
  const reloadMs = options.unknownKidReloadMs ?? 1_000;
  if (!Number.isFinite(reloadMs) || reloadMs < 0 || reloadMs > 60_000) {
    throw new InvalidArgumentError(
      `unknownKidReloadMs must be a number of milliseconds from 0 to 60000 (got ${reloadMs}).`,
      { param: "unknownKidReloadMs" },
    );
  }
  /** Store reads of keys begun so far: a read numbered above a caller's count began after it arrived. */
  let reads = 0;
  /** `at`: when the read that produced `keys` began (the clock); `read`: its number. */
  const cache = new Map<
    string,
    {
      at: number;
      read: number;
      keys: StoredKey[];
      imported: Map<string, { priv: CryptoKey; pub: CryptoKey }>;
    }
  >();
  /**
   * Per tenant, the latest reload for an unknown kid: `read` 0 while it waits for its slot, then
   * its number. Removed once it has read: the map holds only tenants being reloaded.
   */
  const reloads = new Map<string, { startsAt: number; read: number; keys: Promise<StoredKey[]> }>();

  const configured = new Map<string, StoredKey[]>();
  for (const [tenant, jwks] of Object.entries(options.configured ?? {})) {
    const keys = jwks.map((jwk, index) => {
      if (
        jwk.kty !== "OKP" ||
        jwk.crv !== "Ed25519" ||
        typeof jwk.d !== "string" ||
        typeof jwk.kid !== "string"
      ) {
        throw new InvalidArgumentError(
          `configured['${tenant}'][${index}] must be a private Ed25519 JWK with a kid (kty OKP, crv Ed25519, d, kid).`,
        );
      }
      return { kid: jwk.kid, privateJwk: { ...jwk }, createdAt: 0 };
    });
    if (keys.length === 0) throw new InvalidArgumentError(`configured['${tenant}'] holds no keys.`);
    configured.set(tenant, keys);
  }

  async function load(tenant: string, fresh = false): Promise<StoredKey[]> {
    const fixed = configured.get(tenant);
    if (fixed) {
      if (!cache.has(tenant))
        cache.set(tenant, {
          at: Number.POSITIVE_INFINITY,
          read: Number.POSITIVE_INFINITY,
          keys: fixed,
          imported: new Map(),
        });
      return fixed;
    }
    const hit = cache.get(tenant);
    if (hit && !fresh && clock() - hit.at < ttl) return hit.keys;
    const read = ++reads;
    const started = clock();
    const record = await records.get<TenantKeys>(KIND, tenant);
    const keys = record?.data.keys ?? [];
    // Verification loads the tenant an unverified token claims: without a bound, tokens forged
    // with ever new tenant names grew this map by one entry per request, for good.
    cache.delete(tenant);
    if (cache.size >= maxTenants) {
      for (const name of cache.keys()) {
        if (configured.has(name)) continue;
        cache.delete(name);
        break;
      }
    }
    cache.set(tenant, { at: started, read, keys, imported: hit?.imported ?? new Map() });
    return keys;
  }

  /**
   * The tenant's keys from a store read begun after read number `arrived` (the caller's token was
   * minted before it arrived and its key stored before that, so such a read sees it), at least
   * `reloadMs` after the previous read began. Callers of one moment share one read.
   */
  function reloadAfter(tenant: string, arrived: number): Promise<StoredKey[]> {
    const last = reloads.get(tenant);
    if (last && (last.read === 0 || last.read > arrived)) return last.keys;
    const previous = Math.max(
      last?.startsAt ?? Number.NEGATIVE_INFINITY,
      cache.get(tenant)?.at ?? Number.NEGATIVE_INFINITY,
    );
    const startsAt = Math.max(clock(), previous + reloadMs);
    const entry = { startsAt, read: 0, keys: Promise.resolve<StoredKey[]>([]) };
    entry.keys = (async () => {
      // Capped: an injected clock that stands still (tests) must not stall callers for good.
      const wait = Math.min(startsAt - clock(), reloadMs);
      if (wait > 0) await delay(wait);
      entry.read = reads + 1; // the number `load` gives the read it begins now
      return load(tenant, true);
    })();
    reloads.set(tenant, entry);
    const done = (): void => {
      if (reloads.get(tenant) === entry) reloads.delete(tenant);
    };
    entry.keys.then(done, done);
    return entry.keys;
  }

  async function imported(tenant: string, stored: StoredKey): Promise<{ priv: CryptoKey; pub: CryptoKey }> {
    const entry = cache.get(tenant);
    const have = entry?.imported.get(stored.kid);
    if (have) return have;
    const priv = (await importJWK(stored.privateJwk, SIGNING_ALGORITHM)) as CryptoKey;
    const pub = (await importJWK(publicPart(stored.privateJwk), SIGNING_ALGORITHM)) as CryptoKey;
    const pair = { priv, pub };
    entry?.imported.set(stored.kid, pair);
    return pair;
  }

  async function rotate(tenant: string): Promise<string> {
    if (configured.has(tenant)) {
      throw new InvalidArgumentError(
        `Tenant '${tenant}' uses configured signing keys; rotate them in the configuration.`,
      );
    }
    const key = await newKey(clock());
    await mutateRecord<TenantKeys>(records, KIND, tenant, (cur) => ({ keys: [key, ...(cur?.keys ?? [])] }));
    await load(tenant, true);
    return key.kid;
  }

  return Object.freeze({
    async active(tenant: string): Promise<SigningKey> {
      let keys = await load(tenant);
      if (keys.length === 0) {
        const key = await newKey(clock());
        // Another instance may create one first: keep whichever won.
        await mutateRecord<TenantKeys>(records, KIND, tenant, (cur) =>
          cur && cur.keys.length > 0 ? undefined : { keys: [key] },
        );
        keys = await load(tenant, true);
      }
      const first = keys[0];
      if (!first) throw new Error("signing key vanished during creation");
      return { kid: first.kid, key: (await imported(tenant, first)).priv };
    },
    async verificationKey(tenant: string, kid: string): Promise<CryptoKey | null> {
      const arrived = reads;
      let found = (await load(tenant)).find((k) => k.kid === kid);
      // Keys from a read begun after the token arrived are the latest: a kid not among them (a
      // forged one, or any of a configured tenant) is unknown without another read.
      if (!found && (cache.get(tenant)?.read ?? 0) <= arrived) {
        found = (await reloadAfter(tenant, arrived)).find((k) => k.kid === kid);
      }
      return found ? (await imported(tenant, found)).pub : null;
    },
    rotate,
    async jwks(tenant: string): Promise<{ keys: JWK[] }> {
      return { keys: (await load(tenant, true)).map((k) => publicPart(k.privateJwk)) };
    },
  });
}

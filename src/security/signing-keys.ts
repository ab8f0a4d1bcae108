/**
 * Per-tenant signing keys for end-user access tokens: Ed25519 (JWS `EdDSA`) generated on first
 * use and kept as private JWKs in system records (`_hf_signing_key`), newest first, each with a
 * `kid`. `jwks(tenant)` is what a tenant publishes so others can verify its tokens.
 */
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
  /** The public key with this kid, or null (reloads once on an unknown kid). */
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
}): SigningKeys {
  const { records } = options;
  const clock = options.clock ?? Date.now;
  const ttl = options.cacheTtlMs ?? 300_000;
  const maxTenants = options.maxCachedTenants ?? 10_000;
  const cache = new Map<
    string,
    { at: number; keys: StoredKey[]; imported: Map<string, { priv: CryptoKey; pub: CryptoKey }> }
  >();

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
        cache.set(tenant, { at: Number.POSITIVE_INFINITY, keys: fixed, imported: new Map() });
      return fixed;
    }
    const hit = cache.get(tenant);
    if (hit && !fresh && clock() - hit.at < ttl) return hit.keys;
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
    cache.set(tenant, { at: clock(), keys, imported: hit?.imported ?? new Map() });
    return keys;
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
      let found = (await load(tenant)).find((k) => k.kid === kid);
      if (!found) found = (await load(tenant, true)).find((k) => k.kid === kid);
      return found ? (await imported(tenant, found)).pub : null;
    },
    rotate,
    async jwks(tenant: string): Promise<{ keys: JWK[] }> {
      return { keys: (await load(tenant, true)).map((k) => publicPart(k.privateJwk)) };
    },
  });
}

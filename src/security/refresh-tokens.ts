/**
 * Opaque refresh tokens (`hfr_<family>.<secret>`), stored hashed, rotating on every use. A family
 * is one sign-in; each refresh replaces its current secret. Presenting an already-used secret of
 * the family (a stolen copy racing the legitimate client) revokes the whole family. "Log out
 * everywhere" revokes every family of the owner and bumps the owner's `notBefore`, so
 * outstanding access tokens stop verifying too.
 */
import { randomBytes } from "node:crypto";
import { isHoldfastError } from "../store/errors.ts";
import { checkTenant } from "../store/validate.ts";
import type { AccessTokens } from "./access-tokens.ts";
import { checkTokenConversation, checkTokenOwner, endUserScopes } from "./access-tokens.ts";
import { InvalidTokenError } from "./errors.ts";
import { type OwnerRevocations, ownerKey } from "./revocations.ts";
import type { Scope } from "./scopes.ts";
import { digestsEqual, randomSecret, sha256Hex } from "./secrets.ts";
import type { SystemRecords } from "./system-records.ts";
import { checkTenantName } from "./tenants.ts";

const KIND = "refresh_family";
const TOKEN_PATTERN = /^hfr_([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;
/** Used secrets remembered per family for reuse detection. */
const MAX_USED = 64;

interface Family {
  familyId: string;
  tenant: string;
  owner: string;
  conversationId: string | null;
  scopes: Scope[];
  current: string;
  used: string[];
  revoked: boolean;
  createdAt: number;
}

export interface TokenPair {
  accessToken: string;
  /** Epoch seconds. */
  accessTokenExpiresAt: number;
  refreshToken: string;
  /** Epoch ms; the family's absolute end. */
  refreshTokenExpiresAt: number;
}

export interface RefreshTokens {
  /** Starts a family (a sign-in) and returns its first access + refresh token. */
  issue(
    tenant: string,
    input: { owner: string; conversationId?: string | null; scopes?: readonly string[] },
  ): Promise<TokenPair>;
  /** Rotates: the presented token is spent; reuse of a spent one revokes the family. */
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Revokes the family of this token (single sign-out). */
  revoke(refreshToken: string): Promise<void>;
  /** Revokes all of an owner's families and every access token issued up to now. */
  logoutEverywhere(tenant: string, owner: string): Promise<{ families: number }>;
}

export function createRefreshTokens(options: {
  records: SystemRecords;
  accessTokens: AccessTokens;
  revocations: OwnerRevocations;
  clock?: () => number;
  /** Absolute lifetime of a family in ms (default 30 days). */
  familyTtlMs?: number;
}): RefreshTokens {
  const { records, accessTokens, revocations } = options;
  const clock = options.clock ?? Date.now;
  const familyTtlMs = options.familyTtlMs ?? 30 * 24 * 3600_000;

  async function pair(family: Family, secret: string, expiresAt: number): Promise<TokenPair> {
    const access = await accessTokens.mint(family.tenant, {
      owner: family.owner,
      conversationId: family.conversationId,
      scopes: family.scopes,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: `hfr_${family.familyId}.${secret}`,
      refreshTokenExpiresAt: expiresAt,
    };
  }

  async function setRevoked(familyId: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const record = await records.get<Family>(KIND, familyId);
      if (!record || record.data.revoked) return;
      try {
        await records.update(KIND, familyId, { ...record.data, revoked: true }, record.version);
        return;
      } catch (error) {
        if (!(isHoldfastError(error) && error.code === "conflict")) throw error;
      }
    }
  }

  function parse(token: string): { familyId: string; secret: string } {
    const match = typeof token === "string" ? TOKEN_PATTERN.exec(token) : null;
    if (!match?.[1] || !match[2]) throw new InvalidTokenError("The refresh token is malformed.");
    return { familyId: match[1], secret: match[2] };
  }

  const api: RefreshTokens = {
    async issue(tenant, input) {
      // Before anything is written: a reserved tenant would otherwise leave a family behind.
      checkTenantName(tenant);
      const owner = checkTokenOwner(input.owner);
      const secret = randomSecret(32);
      const family: Family = {
        familyId: randomBytes(16).toString("hex"),
        tenant,
        owner,
        conversationId: checkTokenConversation(input.conversationId),
        scopes: endUserScopes(input.scopes),
        current: sha256Hex(secret),
        used: [],
        revoked: false,
        createdAt: clock(),
      };
      const expiresAt = family.createdAt + familyTtlMs;
      await records.create(KIND, family.familyId, family, { index: ownerKey(tenant, owner), expiresAt });
      return pair(family, secret, expiresAt);
    },

    async refresh(token) {
      const { familyId, secret } = parse(token);
      const hash = sha256Hex(secret);
      const record = await records.get<Family>(KIND, familyId);
      if (!record || record.data.createdAt + familyTtlMs <= clock()) {
        throw new InvalidTokenError("The refresh token is unknown or expired.");
      }
      const family = record.data;
      if (family.revoked) throw new InvalidTokenError("The refresh token was revoked; sign in again.");
      // A sign-in started in the very millisecond of a "log out everywhere" is revoked too.
      if (family.createdAt <= (await revocations.notBefore(family.tenant, family.owner))) {
        await setRevoked(familyId);
        throw new InvalidTokenError("The refresh token was revoked; sign in again.");
      }
      if (!digestsEqual(family.current, hash)) {
        if (family.used.some((old) => digestsEqual(old, hash))) {
          await setRevoked(familyId);
          throw new InvalidTokenError(
            "Refresh token reuse detected: every token of this sign-in is revoked.",
          );
        }
        throw new InvalidTokenError("The refresh token is invalid.");
      }
      const next = randomSecret(32);
      const updated: Family = {
        ...family,
        current: sha256Hex(next),
        used: [hash, ...family.used].slice(0, MAX_USED),
      };
      try {
        await records.update(KIND, familyId, updated, record.version);
      } catch (error) {
        // Another use of this same token won the race: that is reuse.
        if (isHoldfastError(error) && error.code === "conflict") {
          await setRevoked(familyId);
          throw new InvalidTokenError(
            "Refresh token reuse detected: every token of this sign-in is revoked.",
          );
        }
        throw error;
      }
      return pair(updated, next, family.createdAt + familyTtlMs);
    },

    async revoke(token) {
      await setRevoked(parse(token).familyId);
    },

    async logoutEverywhere(tenant, owner) {
      checkTenant(tenant);
      // notBefore first: a family created concurrently is caught by the createdAt check on refresh.
      await revocations.revokeAll(tenant, owner);
      let families = 0;
      for await (const record of records.list<Family>(KIND, { index: ownerKey(tenant, owner) })) {
        if (!record.data.revoked) {
          await setRevoked(record.data.familyId);
          families++;
        }
      }
      return { families };
    },
  };
  return Object.freeze(api);
}

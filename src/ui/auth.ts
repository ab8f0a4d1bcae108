/**
 * Dashboard sign-in: an admin key exchanged for a signed, expiring cookie (HttpOnly,
 * SameSite=Strict, Secure except on plain-http loopback) and a CSRF token derived from it. The
 * cookie is stateless (HMAC over expiry and nonce with a key derived from the admin key), so it
 * works across instances that share the admin key; sign-out revokes it on this instance. Failed
 * sign-ins are limited per client address, so the admin key cannot be guessed at request speed.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { RateLimitError } from "../security/errors.ts";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";

export const COOKIE_NAME = "holdfast_ui";
export const CSRF_HEADER = "x-csrf-token";
const DEFAULT_TTL_MS = 8 * 60 * 60 * 1000;

export interface UiAuthOptions {
  /** The admin key; null means dev mode (no sign-in), allowed only when bound to loopback. */
  adminKey: string | null;
  /** Cookie lifetime. Default 8 hours. */
  ttlMs?: number;
  now?: () => number;
}

export interface UiAuth {
  readonly devMode: boolean;
  /** True when `key` is the admin key (constant time). Always true in dev mode. */
  checkKey(key: unknown): boolean;
  /** Sets a fresh session cookie; returns its CSRF token. */
  issue(request: FastifyRequest, reply: FastifyReply): string;
  /** The CSRF token of the request's valid session cookie, or null when not signed in. */
  session(request: FastifyRequest): string | null;
  /** Clears the cookie and revokes it on this instance. */
  revoke(request: FastifyRequest, reply: FastifyReply): void;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || a.startsWith("127.") || a === "localhost";
}

function b64(buffer: Buffer): string {
  return buffer.toString("base64url");
}

/** Compares in constant time for equal lengths (secrets: a MAC, the CSRF token). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (typeof header !== "string") return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Secure unless the request reached a loopback socket over plain HTTP (browsers drop Secure there). */
function secureFlag(request: FastifyRequest): string {
  const plainLoopback = request.protocol === "http" && isLoopback(request.socket.localAddress);
  return plainLoopback ? "" : "; Secure";
}

/** Creates the sign-in logic for one dashboard. */
export function createUiAuth(options: UiAuthOptions): UiAuth {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const now = options.now ?? Date.now;
  const adminKey = options.adminKey;
  // Cookies signed with a key derived from the admin key stay valid across instances and die when it rotates.
  const signingKey = adminKey
    ? createHmac("sha256", "holdfast-ui-cookie").update(adminKey).digest()
    : randomBytes(32);
  const revoked = new Map<string, number>();
  const sign = (payload: string): string => b64(createHmac("sha256", signingKey).update(payload).digest());
  const csrfOf = (cookie: string): string => sign(`csrf:${cookie}`);

  const verify = (cookie: string | null): string | null => {
    if (!cookie) return null;
    // Exactly three parts: with a fourth ignored, a revoked cookie plus ".x" was a new, unrevoked
    // string carrying the same valid MAC (sign-out could be undone by anyone holding the cookie).
    const parts = cookie.split(".");
    if (parts.length !== 3) return null;
    const [exp, nonce, mac] = parts as [string, string, string];
    if (!/^\d+$/.test(exp) || !nonce || !safeEqual(mac, sign(`${exp}.${nonce}`))) return null;
    if (Number(exp) <= now() || revoked.has(cookie)) return null;
    return cookie;
  };

  return Object.freeze({
    devMode: adminKey === null,
    checkKey(key: unknown): boolean {
      if (adminKey === null) return true;
      return typeof key === "string" && safeEqual(sign(`key:${key}`), sign(`key:${adminKey}`));
    },
    issue(request: FastifyRequest, reply: FastifyReply): string {
      const exp = now() + ttlMs;
      const payload = `${exp}.${b64(randomBytes(16))}`;
      const cookie = `${payload}.${sign(payload)}`;
      reply.header(
        "set-cookie",
        `${COOKIE_NAME}=${cookie}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(ttlMs / 1000)}${secureFlag(request)}`,
      );
      return csrfOf(cookie);
    },
    session(request: FastifyRequest): string | null {
      const cookie = verify(readCookie(request, COOKIE_NAME));
      return cookie ? csrfOf(cookie) : null;
    },
    revoke(request: FastifyRequest, reply: FastifyReply): void {
      const cookie = verify(readCookie(request, COOKIE_NAME));
      if (cookie) {
        revoked.set(cookie, Number(cookie.split(".")[0]));
        for (const [c, exp] of revoked) if (exp <= now()) revoked.delete(c);
      }
      reply.header(
        "set-cookie",
        `${COOKIE_NAME}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0${secureFlag(request)}`,
      );
    },
  });
}

/** Failed dashboard sign-ins allowed per client address per minute (a token bucket: 1 back every 6 s). */
const SIGN_IN_FAILURES_PER_MINUTE = 10;

export interface SignInLimiter {
  /**
   * Counts a sign-in attempt from `address`: throws 429 `rate_limit_exceeded` (with Retry-After)
   * when its failures used the minute up — even for the right key. Returns the refund to call
   * when the attempt succeeds, so only failures count.
   */
  attempt(address: string): Promise<() => Promise<void>>;
}

/** In-process, per instance: each instance lets an address fail `perMinute` times a minute. */
export function createSignInLimiter(perMinute = SIGN_IN_FAILURES_PER_MINUTE): SignInLimiter {
  // Bounded: addresses beyond it evict the least recent (which then restart with a full bucket).
  const backend = createMemoryRateLimitBackend({ maxKeys: 10_000 });
  return Object.freeze({
    async attempt(address: string): Promise<() => Promise<void>> {
      const bucket = { key: `ui-sign-in:${address}`, capacity: perMinute, cost: 1 };
      const taken = await backend.take([bucket]);
      if (!taken.ok) {
        // The sign-in form shows only the message: it names the wait Retry-After gives (as rounded there).
        const seconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
        throw new RateLimitError(
          `Too many failed dashboard sign-ins from this address; try again in ${seconds} ${seconds === 1 ? "second" : "seconds"}.`,
          "address:requests",
          seconds,
        );
      }
      return () => backend.adjust(bucket, 1);
    },
  });
}

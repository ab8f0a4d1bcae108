/**
 * What `holdfast serve` says at start-up beyond the address: warnings about store URLs that are
 * legal but easy to get wrong when several instances run, and the identity providers in effect.
 */
import { storeScheme } from "../../store/create-store.ts";

/** How long a tiered store keeps a replica in its hot tier (createStore's default). */
const DEFAULT_HOT_RETENTION_MS = 15 * 60_000;

const SHARED_SCHEMES = new Set([
  "postgres:",
  "postgresql:",
  "redis:",
  "rediss:",
  "redis+cluster:",
  "rediss+cluster:",
]);

/**
 * A `memory:` hot tier over a shared durable tier: each instance has its own replicas, and a
 * session deleted (or changed) through one instance stays readable from another's replica until
 * it leaves that hot tier. Only a shared hot tier (Redis) is exact across instances.
 */
export function tieredStoreNotices(store: string, archive: string | undefined): string[] {
  if (archive === undefined || storeScheme(store) !== "memory:") return [];
  if (!SHARED_SCHEMES.has(storeScheme(archive))) return [];
  const minutes = DEFAULT_HOT_RETENTION_MS / 60_000;
  return [
    `--store memory: is a hot tier private to this instance over a shared --archive: if several instances serve this archive, one that has a session in its memory keeps serving it for up to ${minutes} minutes after another instance deleted or changed it; use --store redis://… (a shared hot tier) with several instances.`,
  ];
}

/**
 * The "listening" line's note of the configured identity providers (issuer → tenant), so an
 * operator sees the config file's `security.oidc_providers` took effect; empty without any.
 */
export function identityProvidersNote(providers: readonly { issuer: string; tenant: string }[]): string {
  if (providers.length === 0) return "";
  return `; identity providers: ${providers.map(({ issuer, tenant }) => `${issuer} → ${tenant}`).join(", ")}`;
}

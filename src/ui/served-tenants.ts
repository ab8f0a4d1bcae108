/**
 * The tenants `holdfast serve`'s dashboard offers: `default`, every tenant an API key was made
 * for (revoked keys included: their tenants' sessions are still there), every tenant in the
 * registry and every one given in `configured` (identity providers' tenants, whose users hold no
 * API key). All are system records, so no session is scanned (the storage aggregate costs a third
 * of a second at 100,000 SQLite sessions). Every dashboard request checks its `tenant` against
 * this list, so it is kept for `maxAgeMs`: a tenant whose first key is created appears that much
 * later at most.
 */
import type { ApiKeyInfo } from "../security/api-keys.ts";
import type { Security } from "../security/create-security.ts";

const DEFAULT_MAX_AGE_MS = 2_000;

export function servedTenants(
  security: Pick<Security, "records" | "tenants">,
  options: { maxAgeMs?: number; clock?: () => number; configured?: readonly string[] } = {},
): () => Promise<readonly string[]> {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const clock = options.clock ?? Date.now;
  let cached: { at: number; tenants: Promise<readonly string[]> } | null = null;
  const load = async (): Promise<readonly string[]> => {
    const names = new Set<string>(options.configured ?? []);
    for await (const record of security.records.list<ApiKeyInfo>("api_key")) names.add(record.data.tenant);
    for (const tenant of await security.tenants.list()) names.add(tenant.name);
    names.delete("default");
    return ["default", ...[...names].sort()];
  };
  return () => {
    const now = clock();
    if (cached === null || now - cached.at >= maxAgeMs) {
      const tenants = load();
      cached = { at: now, tenants };
      // A failed read is not kept: the next request tries again.
      tenants.catch(() => {
        if (cached?.tenants === tenants) cached = null;
      });
    }
    return cached.tenants;
  };
}

/** Reads the planner's input: every session (visible or not), in keyset-paginated scans. */
import type { LifecycleCapable } from "../store/driver.ts";
import type { Session } from "../store/types.ts";

export interface SnapshotOptions {
  tenant?: string;
  /** Sessions per scan page (default 1000). */
  pageSize?: number;
}

/** Every session of `tenant` (or of every tenant), ascending (tenant, id). */
export async function collectSnapshot(
  driver: LifecycleCapable,
  options: SnapshotOptions = {},
): Promise<Session[]> {
  const limit = options.pageSize ?? 1000;
  const out: Session[] = [];
  let after: { tenant: string; id: string } | undefined;
  for (;;) {
    const page = await driver.scanSessions({ tenant: options.tenant, after, limit });
    out.push(...page);
    if (page.length < limit) return out;
    const last = page.at(-1)!;
    after = { tenant: last.tenant, id: last.id };
  }
}

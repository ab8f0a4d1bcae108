/**
 * The chaos run: N `holdfast serve` processes over one store, M clients appending turns with
 * idempotency keys, one server SIGKILLed and restarted every few seconds; then the audit.
 */
import { createStore } from "../../src/store/create-store.ts";
import { startClients } from "./clients.ts";
import { ServerFleet } from "./servers.ts";
import { type AuditResult, auditReplays, auditStore } from "./verify.ts";

export interface ChaosOptions {
  store: string;
  servers?: number;
  clients?: number;
  sessions?: number;
  durationMs?: number;
  killEveryMs?: number;
  /** Tenant the servers use for unauthenticated requests. */
  tenant?: string;
  log?: (line: string) => void;
}

export interface ChaosReport extends AuditResult {
  store: string;
  turnsAcknowledged: number;
  retries: number;
  conflicts: number;
  failures: number;
  killsSurvived: number;
  badReplays: number;
}

async function createSessions(url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${url}/v1/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ metadata: { chaos: String(i) } }),
    });
    if (!res.ok) throw new Error(`creating a chaos session failed: ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const fleet = new ServerFleet(options.store);
  const killEvery = options.killEveryMs ?? 3000;
  let kills = 0;
  try {
    await fleet.start(options.servers ?? 3);
    const sessionIds = await createSessions(fleet.slots[0]!.url, options.sessions ?? 16);
    const { done, totals } = startClients(
      fleet,
      sessionIds,
      options.clients ?? 64,
      options.durationMs ?? 15_000,
    );
    let stopped = false;
    const killer = (async () => {
      while (!stopped) {
        await new Promise((r) => setTimeout(r, killEvery * (0.7 + Math.random() * 0.6)));
        if (stopped) break;
        const victim = await fleet.killOne(kills % fleet.slots.length);
        if (victim < 0) continue;
        kills += 1;
        log(`killed server ${victim} (${kills} kills, ${totals.acked.length} turns acked)`);
      }
    })();
    await done;
    stopped = true;
    await killer;
    await fleet.settle();
    const badReplays = await auditReplays(fleet.slots[0]!.url, totals.acked);
    await fleet.stop();
    const store = await createStore(options.store);
    try {
      const audit = await auditStore(store, options.tenant ?? "default", sessionIds, totals.acked);
      return {
        ...audit,
        store: options.store.replace(/\/\/[^@/]*@/, "//***@"),
        turnsAcknowledged: totals.acked.length,
        retries: totals.retries,
        conflicts: totals.conflicts,
        failures: totals.failures,
        killsSurvived: kills,
        badReplays,
      };
    } finally {
      await store.close();
    }
  } catch (error) {
    const stderr = fleet.recentStderr();
    if (stderr) log(`server stderr:\n${stderr}`);
    throw error;
  } finally {
    await fleet.stop();
  }
}

/**
 * Chaos clients: each appends numbered turns to one conversation through whichever server
 * answers, with an Idempotency-Key per turn, retrying failures (server killed, 5xx) and
 * conflicts until the turn is acknowledged. Every acknowledged turn is recorded for the audit.
 */
import type { ServerFleet } from "./servers.ts";

export interface AckedTurn {
  sessionId: string;
  operationId: string;
  /** The texts of the user and assistant items; item ids are server-generated, so a duplicate shows as text. */
  texts: [string, string];
}

export interface ClientTotals {
  acked: AckedTurn[];
  retries: number;
  conflicts: number;
  failures: number;
}

interface ClientPlan {
  client: number;
  sessionId: string;
  /** Half the clients send If-Match with the version they last saw, to exercise conflicts. */
  optimistic: boolean;
  stopAt: number;
  fleet: ServerFleet;
  totals: ClientTotals;
}

export function turnBody(client: number, turn: number): { items: unknown[] } {
  const id = `${client}_${turn}`;
  return {
    items: [
      { type: "message", role: "user", content: [{ type: "input_text", text: `q ${id}` }] },
      {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: `a ${id}` }],
      },
    ],
  };
}

async function latestVersion(base: string, sessionId: string): Promise<string | null> {
  const res = await fetch(`${base}/v1/conversations/${sessionId}`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) return null;
  return res.headers.get("etag");
}

export async function runClient(plan: ClientPlan): Promise<void> {
  const { client, sessionId, fleet, totals } = plan;
  let turn = 0;
  let attempt = 0;
  let etag: string | null = null;
  while (Date.now() < plan.stopAt) {
    const slot = fleet.slots[(client + attempt) % fleet.slots.length]!;
    const operationId = `op-c${client}-t${turn}`;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "idempotency-key": operationId,
    };
    try {
      if (plan.optimistic) {
        etag ??= await latestVersion(slot.url, sessionId);
        if (etag) headers["if-match"] = etag;
      }
      const res = await fetch(`${slot.url}/v1/conversations/${sessionId}/items`, {
        method: "POST",
        headers,
        body: JSON.stringify(turnBody(client, turn)),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) {
        totals.acked.push({
          sessionId,
          operationId,
          texts: [`q ${client}_${turn}`, `a ${client}_${turn}`],
        });
        turn += 1;
        etag = null;
        continue;
      }
      if (res.status === 409) {
        totals.conflicts += 1;
        etag = null;
      } else if (res.status >= 500) totals.failures += 1;
      else throw new Error(`unexpected ${res.status} for ${operationId}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("unexpected")) throw error;
      totals.failures += 1;
      etag = null;
    }
    totals.retries += 1;
    attempt += 1;
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
  }
}

export function startClients(
  fleet: ServerFleet,
  sessionIds: string[],
  clients: number,
  durationMs: number,
): { done: Promise<void>; totals: ClientTotals } {
  const totals: ClientTotals = { acked: [], retries: 0, conflicts: 0, failures: 0 };
  const stopAt = Date.now() + durationMs;
  const runs = Array.from({ length: clients }, (_, client) =>
    runClient({
      client,
      sessionId: sessionIds[client % sessionIds.length]!,
      optimistic: client % 2 === 1,
      stopAt,
      fleet,
      totals,
    }),
  );
  return { done: Promise.all(runs).then(() => undefined), totals };
}

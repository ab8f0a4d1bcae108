/**
 * Usage over time for the dashboard, read from the response records of the most recently
 * created sessions (a bounded scan: `maxSessions` per tenant, `maxItems` in all), so the view
 * stays fast on large stores; the answer says when it was cut short. Only active sessions are
 * read: the served store restores an archived session on read, so reading archived ones would
 * undo the sweeper's work for every session archived in the period.
 */
import { sessionItems } from "../interop/portable/export.ts";
import type { SessionStore } from "../store/types.ts";
import { toTurn } from "./transcript.ts";

export interface UsagePoint {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  tenant: string;
  model: string;
  turns: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface SessionCost {
  tenant: string;
  id: string;
  owner: string | null;
  turns: number;
  tokens: number;
  costUsd: number;
}

export interface UsageReport {
  points: UsagePoint[];
  topSessions: SessionCost[];
  scannedSessions: number;
  scannedItems: number;
  /** True when the scan limits left sessions or items out. */
  partial: boolean;
}

export interface UsageQuery {
  tenants: readonly string[];
  /** Only turns at or after this time (epoch ms). */
  since: number;
  maxSessions?: number;
  maxItems?: number;
  top?: number;
}

/** Aggregates turns by UTC day, tenant and model, and ranks sessions by cost. */
export async function collectUsage(store: SessionStore, query: UsageQuery): Promise<UsageReport> {
  const maxSessions = query.maxSessions ?? 500;
  const maxItems = query.maxItems ?? 200_000;
  const points = new Map<string, UsagePoint>();
  const sessions: SessionCost[] = [];
  let scannedSessions = 0;
  let scannedItems = 0;
  let partial = false;
  for (const tenant of query.tenants) {
    let cursor: string | undefined;
    let seen = 0;
    scan: do {
      const page = await store.list(tenant, {
        status: "active",
        updatedAfter: query.since - 1,
        limit: 100,
        cursor,
      });
      for (const session of page.data) {
        if (seen >= maxSessions || scannedItems >= maxItems) {
          partial = true;
          break scan;
        }
        seen++;
        scannedSessions++;
        const cost: SessionCost = {
          tenant,
          id: session.id,
          owner: session.owner,
          turns: 0,
          tokens: 0,
          costUsd: 0,
        };
        for await (const item of sessionItems(store, tenant, session.id)) {
          scannedItems++;
          const turn = toTurn(item);
          if (!turn || turn.createdAt < query.since) continue;
          const day = new Date(turn.createdAt).toISOString().slice(0, 10);
          const model = turn.model || "unknown";
          const key = `${day}\u0000${tenant}\u0000${model}`;
          const point = points.get(key) ?? {
            day,
            tenant,
            model,
            turns: 0,
            inputTokens: 0,
            outputTokens: 0,
            costUsd: 0,
          };
          point.turns++;
          point.inputTokens += turn.inputTokens;
          point.outputTokens += turn.outputTokens;
          point.costUsd += turn.costUsd ?? 0;
          points.set(key, point);
          cost.turns++;
          cost.tokens += turn.inputTokens + turn.outputTokens;
          cost.costUsd += turn.costUsd ?? 0;
        }
        if (cost.turns > 0) sessions.push(cost);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  sessions.sort((a, b) => b.costUsd - a.costUsd || b.tokens - a.tokens);
  return {
    points: [...points.values()].sort((a, b) => a.day.localeCompare(b.day) || a.model.localeCompare(b.model)),
    topSessions: sessions.slice(0, query.top ?? 10),
    scannedSessions,
    scannedItems,
    partial,
  };
}

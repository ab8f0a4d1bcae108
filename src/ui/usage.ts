/**
 * Usage over time for the dashboard, read from the response records of the most recently
 * created sessions (a bounded scan: `maxSessions` per tenant, `maxItems` in all), so the view
 * stays fast on large stores; the answer says when it was cut short. Sessions the lifecycle
 * archived count too: their turns are read from their archives (`archivedItems`), never through
 * the served store, which would restore each one and undo the sweeper's work. Archived sessions
 * that cannot be read that way (no reader given, an archive missing or damaged) are left out and
 * counted in `archivedExcluded`, so the view can say so. Tokens and cost are everything spent,
 * as the usage route's `total`: the turns' own calls and the summarizer calls of the compaction
 * they triggered (charged to that turn, as the ledger does), whose share is given apart.
 */

import { sessionItems } from "../interop/portable/export.ts";
import type { ArchivedItemsReader } from "../lifecycle/archive-peek.ts";
import { fromNanoUsd, toNanoUsd } from "../nano-usd.ts";
import type { Item, SessionStore } from "../store/types.ts";
import { archivedSessionItems } from "./archived-session-items.ts";
import { toTurn } from "./transcript.ts";

export interface UsagePoint {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  tenant: string;
  model: string;
  turns: number;
  /** Compaction included (as below). */
  inputTokens: number;
  outputTokens: number;
  /** The turns' own calls and their compaction's summarizer calls. */
  costUsd: number;
  /** Summarizer calls of the compaction these turns triggered, and their share of the cost. */
  compactionCalls: number;
  compactionCostUsd: number;
}

export interface SessionCost {
  tenant: string;
  id: string;
  owner: string | null;
  turns: number;
  /** Compaction included, as the usage route's `total`. */
  tokens: number;
  costUsd: number;
  /** The compaction share of `costUsd`. */
  compactionCostUsd: number;
}

export interface UsageReport {
  points: UsagePoint[];
  topSessions: SessionCost[];
  scannedSessions: number;
  scannedItems: number;
  /** True when the scan limits left sessions or items out. */
  partial: boolean;
  /** Archived sessions scanned (their turns read from their archives, not restored). */
  archivedSessions: number;
  /** Archived sessions in the period whose turns are not counted: no archive reader, or an archive that cannot be read. */
  archivedExcluded: number;
}

export interface UsageQuery {
  tenants: readonly string[];
  /** Only turns at or after this time (epoch ms). */
  since: number;
  maxSessions?: number;
  maxItems?: number;
  top?: number;
  /** Reads an archived session's items without restoring it; without it archived sessions are excluded (and counted). */
  archivedItems?: ArchivedItemsReader;
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
  let archivedSessions = 0;
  let archivedExcluded = 0;
  for (const tenant of query.tenants) {
    let cursor: string | undefined;
    let seen = 0;
    scan: do {
      // Every status: a stub's updatedAt is when it was archived, after its last turn.
      const page = await store.list(tenant, {
        updatedAfter: query.since - 1,
        limit: 100,
        cursor,
      });
      for (const session of page.data) {
        if (seen >= maxSessions || scannedItems >= maxItems) {
          partial = true;
          break scan;
        }
        let items: AsyncIterable<Item> | Iterable<Item> = sessionItems(store, tenant, session.id);
        if (session.status === "archived") {
          const archived = await archivedSessionItems(store, tenant, session, query.archivedItems);
          if (archived === null) {
            archivedExcluded++;
            continue;
          }
          archivedSessions++;
          items = archived;
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
          compactionCostUsd: 0,
        };
        for await (const item of items) {
          scannedItems++;
          const turn = toTurn(item);
          if (!turn || turn.createdAt < query.since) continue;
          const day = new Date(turn.createdAt).toISOString().slice(0, 10);
          const point = pointOf(points, day, tenant, turn.model || "unknown");
          point.turns++;
          point.inputTokens += turn.inputTokens;
          point.outputTokens += turn.outputTokens;
          point.costUsd += nano(turn.costUsd);
          cost.turns++;
          cost.tokens += turn.inputTokens + turn.outputTokens;
          cost.costUsd += nano(turn.costUsd);
          const c = turn.compaction;
          if (!c) continue;
          // Charged to the turn that triggered it, as the usage ledger does.
          point.inputTokens += c.inputTokens;
          point.outputTokens += c.outputTokens;
          point.costUsd += nano(c.costUsd);
          point.compactionCalls += c.calls;
          point.compactionCostUsd += nano(c.costUsd);
          cost.tokens += c.inputTokens + c.outputTokens;
          cost.costUsd += nano(c.costUsd);
          cost.compactionCostUsd += nano(c.costUsd);
        }
        if (cost.turns > 0) sessions.push(cost);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  sessions.sort((a, b) => b.costUsd - a.costUsd || b.tokens - a.tokens);
  // Summed in nano-dollars above (a float sum of 0.1 and 0.2 is 0.30000000000000004): dollars now.
  for (const sum of [...points.values(), ...sessions]) {
    sum.costUsd = fromNanoUsd(sum.costUsd);
    sum.compactionCostUsd = fromNanoUsd(sum.compactionCostUsd);
  }
  return {
    points: [...points.values()].sort((a, b) => a.day.localeCompare(b.day) || a.model.localeCompare(b.model)),
    topSessions: sessions.slice(0, query.top ?? 10),
    scannedSessions,
    scannedItems,
    partial,
    archivedSessions,
    archivedExcluded,
  };
}

/** The point of `day`, `tenant` and `model`, added to `points` at its first use. */
function pointOf(points: Map<string, UsagePoint>, day: string, tenant: string, model: string): UsagePoint {
  const key = `${day}\u0000${tenant}\u0000${model}`;
  let point = points.get(key);
  if (!point) {
    point = {
      day,
      tenant,
      model,
      turns: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      compactionCalls: 0,
      compactionCostUsd: 0,
    };
    points.set(key, point);
  }
  return point;
}

/** A turn's or a compaction's cost in nano-dollars (no price applied: 0). */
function nano(costUsd: number | null | undefined): number {
  return costUsd == null ? 0 : toNanoUsd(costUsd);
}

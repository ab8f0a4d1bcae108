/**
 * The chaos audit: reads every session straight from the store and checks that every
 * acknowledged turn is present exactly once, adjacent, with dense seq and a version equal to
 * one plus the number of turns that landed; then replays every acknowledged operation id
 * through a server and checks the idempotency record still points at the same items.
 */
import type { SessionStore } from "../../src/store/types.ts";
import type { AckedTurn } from "./clients.ts";
import { turnBody } from "./clients.ts";

export interface AuditResult {
  sessions: number;
  items: number;
  acknowledged: number;
  lost: number;
  duplicated: number;
  gaps: number;
  badVersions: number;
  badReplays: number;
  problems: string[];
}

function textOf(content: unknown): string {
  const parts = (content as { content?: { text?: string }[] }).content ?? [];
  return parts.map((p) => p.text ?? "").join("");
}

export async function auditStore(
  store: SessionStore,
  tenant: string,
  sessionIds: string[],
  acked: AckedTurn[],
): Promise<AuditResult> {
  const result: AuditResult = {
    sessions: sessionIds.length,
    items: 0,
    acknowledged: acked.length,
    lost: 0,
    duplicated: 0,
    gaps: 0,
    badVersions: 0,
    badReplays: 0,
    problems: [],
  };
  const positions = new Map<string, number[]>();
  for (const id of sessionIds) {
    const session = await store.get(tenant, id);
    const items = await store.readItems(tenant, id, { limit: 10_000 });
    result.items += items.length;
    items.forEach((item, index) => {
      if (item.seq !== index + 1) result.gaps += 1;
      const key = `${id}|${textOf(item.content)}`;
      positions.set(key, [...(positions.get(key) ?? []), item.seq]);
    });
    const turns = items.filter((i) => i.role === "user").length;
    if (session.version !== 1 + turns || session.itemCount !== items.length) {
      result.badVersions += 1;
      result.problems.push(
        `${id}: version ${session.version}, ${turns} turns, itemCount ${session.itemCount}`,
      );
    }
  }
  for (const seqs of positions.values()) if (seqs.length > 1) result.duplicated += seqs.length - 1;
  for (const turn of acked) {
    const [q, a] = turn.texts.map((t) => positions.get(`${turn.sessionId}|${t}`));
    if (!q || !a) {
      result.lost += 1;
      result.problems.push(`lost ${turn.operationId} in ${turn.sessionId}`);
    } else if (q.length === 1 && a.length === 1 && a[0] !== q[0]! + 1) {
      result.problems.push(`${turn.operationId}: items not adjacent (${q[0]}, ${a[0]})`);
      result.gaps += 1;
    }
  }
  return result;
}

/** Re-sends acknowledged operations; each must replay (2xx) with the original texts. */
export async function auditReplays(baseUrl: string, acked: AckedTurn[], sample = 200): Promise<number> {
  let bad = 0;
  const step = Math.max(1, Math.floor(acked.length / sample));
  for (let i = 0; i < acked.length; i += step) {
    const turn = acked[i]!;
    const [, client, t] = /^op-c(\d+)-t(\d+)$/.exec(turn.operationId) ?? [];
    const res = await fetch(`${baseUrl}/v1/conversations/${turn.sessionId}/items`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": turn.operationId },
      body: JSON.stringify(turnBody(Number(client), Number(t))),
    });
    const body = (await res.json()) as { data?: unknown[] };
    const texts = (body.data ?? []).map(textOf);
    if (!res.ok || texts.join("|") !== turn.texts.join("|")) bad += 1;
  }
  return bad;
}

/**
 * The part of a session's transcript one session view loads: its newest items, read newest first
 * a page at a time, until `MAX_TRANSCRIPT_ITEMS` items or `MAX_TRANSCRIPT_BYTES` of the entries
 * and turns they become, whichever comes first. An entry's text is clipped to 20,000 characters,
 * but 5,000 of them made one answer of about 100 MB (more in multi-byte text), built as one
 * string by the server and parsed by the browser; the byte budget keeps every answer small. The
 * answer says how many older items it left out; the portable export has them all.
 */
import type { Session, SessionStore } from "../store/types.ts";
import { type TranscriptEntry, type TurnSummary, toEntry, toTurn } from "./transcript.ts";

/** Items one session view loads at most. */
export const MAX_TRANSCRIPT_ITEMS = 5000;
/** UTF-8 bytes of JSON the loaded entries and turns take at most. */
export const MAX_TRANSCRIPT_BYTES = 2_000_000;
/** Items read per store call: small, since a stored item may be up to a megabyte. */
const ITEM_PAGE = 100;

export interface TranscriptPage {
  /** Oldest first. */
  entries: TranscriptEntry[];
  turns: TurnSummary[];
  /** Items older than the oldest loaded one that were left out. */
  omittedItems: number;
}

/** The newest items of `session` within the item and byte budgets, as entries and turns. */
export async function loadTranscript(
  store: SessionStore,
  session: Session,
  budget: { maxItems?: number; maxBytes?: number } = {},
): Promise<TranscriptPage> {
  const maxItems = budget.maxItems ?? MAX_TRANSCRIPT_ITEMS;
  const maxBytes = budget.maxBytes ?? MAX_TRANSCRIPT_BYTES;
  const entries: TranscriptEntry[] = [];
  const turns: TurnSummary[] = [];
  let loaded = 0;
  let bytes = 0;
  let reachedStart = false;
  let beforeSeq = session.lastSeq + 1;
  reading: while (loaded < maxItems) {
    const limit = Math.min(ITEM_PAGE, maxItems - loaded);
    const page = await store.readItems(session.tenant, session.id, { beforeSeq, order: "desc", limit });
    for (const item of page) {
      const turn = toTurn(item);
      const shown = turn ?? toEntry(item);
      const size = Buffer.byteLength(JSON.stringify(shown));
      if (bytes + size > maxBytes) break reading;
      bytes += size;
      loaded++;
      if (turn) turns.push(turn);
      else entries.push(shown as TranscriptEntry);
    }
    const last = page.at(-1);
    if (!last || page.length < limit) {
      reachedStart = true;
      break;
    }
    beforeSeq = last.seq;
  }
  entries.reverse();
  turns.reverse();
  // The count is the session's as read: items appended since are newer, not older, than these.
  return { entries, turns, omittedItems: reachedStart ? 0 : Math.max(0, session.itemCount - loaded) };
}

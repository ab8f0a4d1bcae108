/**
 * `exportTranscript`: writes a Holdfast session as an OpenClaw v3 transcript — a header, then a
 * linear chain of entries (each `parentId` the previous `id`). Consecutive assistant-side items
 * of one turn (reasoning, assistant messages, function calls) become one assistant message with
 * thinking/text/toolCall blocks; outputs become toolResult messages; a `summary` item becomes a
 * compaction naming its first kept entry. Items OpenClaw has no form for become `custom` entries
 * (not model context), system/developer messages `custom_message` entries. The labels of an
 * imported transcript (kept in its state) are written again at the end, on their targets' entries.
 */

import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { readCovers, readSummary, renderSummary } from "../../engine/context/summary.ts";
import { dataUrlBytes, parseDataUrl } from "../../engine/providers/data-url.ts";
import type { Item, JsonObject, JsonValue, Session, SessionStore } from "../../store/types.ts";
import { isPlainObject } from "../../store/validate.ts";
import { type ExportOptions, exportedItems } from "../portable/export.ts";
import { itemId } from "./convert.ts";
import { importedSessionId } from "./session-meta.ts";

export interface TranscriptExportOptions {
  /**
   * The items of a session the lifecycle archiver moved to cold storage (an archive backend's
   * `read`). Without it, exporting such a stub fails rather than write a transcript without them.
   */
  readArchive?: ExportOptions["readArchive"];
}

export interface TranscriptExportSummary {
  entries: number;
  items: number;
  bytes: number;
}

type Obj = Record<string, unknown>;

function textOf(part: unknown): string | null {
  if (typeof part !== "object" || part === null) return null;
  const p = part as Obj;
  return typeof p.text === "string" ? p.text : typeof p.refusal === "string" ? p.refusal : null;
}

/** Responses content parts → OpenClaw content blocks (text, image). */
function blocksFrom(content: unknown): Obj[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  const out: Obj[] = [];
  for (const part of content as Obj[]) {
    const image = part?.type === "input_image" ? inlineImage(part.image_url) : null;
    if (image) out.push({ type: "image", ...image });
    else {
      const text = textOf(part);
      if (text !== null) out.push({ type: "text", text });
    }
  }
  return out;
}

/**
 * An inline image as an OpenClaw block's base64 `data` and `mimeType`; null for a remote URL or
 * one that names no media type. Parsed as RFC 2397 says, so `data:image/png;name=x.png;base64,…`
 * and percent-encoded payloads are images too (a stricter pattern dropped them from the export).
 */
function inlineImage(url: unknown): { data: string; mimeType: string } | null {
  const parsed = typeof url === "string" ? parseDataUrl(url) : null;
  if (!parsed?.mediaType) return null;
  const data = parsed.base64 ? parsed.data : dataUrlBytes(parsed).toString("base64");
  return { data, mimeType: parsed.mediaType };
}

function parseArguments(args: unknown): unknown {
  if (typeof args !== "string") return args ?? {};
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

function isAssistantSide(item: Item): boolean {
  return (
    item.type === "reasoning" ||
    item.type === "function_call" ||
    (item.type === "message" && item.role === "assistant")
  );
}

class EntryWriter {
  readonly #ids = new Set<string>();
  readonly #entryOfSeq = new Map<number, string>();
  readonly #entryOfItem = new Map<string, string>();
  readonly #toolNames = new Map<string, string>();
  #parent: string | null = null;
  #timestamp: string | null = null;
  readonly lines: string[] = [];
  entries = 0;

  readonly session: Session;

  constructor(session: Session) {
    this.session = session;
  }

  #id(seed: string): string {
    let n = 0;
    let id = createHash("sha256").update(seed).digest("hex").slice(0, 8);
    while (this.#ids.has(id)) id = createHash("sha256").update(`${seed}:${++n}`).digest("hex").slice(0, 8);
    this.#ids.add(id);
    return id;
  }

  push(items: Item[], body: Obj): void {
    const first = items[0]!;
    const id = this.#id(`${this.session.id}:${first.id}`);
    for (const item of items) {
      this.#entryOfSeq.set(item.seq, id);
      this.#entryOfItem.set(item.id, id);
    }
    this.#write(id, new Date(first.createdAt).toISOString(), body);
  }

  #write(id: string, timestamp: string, body: Obj): void {
    const entry = { type: body.type, id, parentId: this.#parent, timestamp, ...body };
    this.lines.push(`${JSON.stringify(entry)}\n`);
    this.#parent = id;
    this.#timestamp = timestamp;
    this.entries++;
  }

  /**
   * The labels of an imported transcript (state `openclaw.labels`, target entry id → label) as
   * `label` entries at the end, as pi writes them when it copies a branch to a new file: each on
   * the entry now holding its target's items. A label on an entry that made no item is left out.
   */
  labels(): void {
    const labels = (this.session.state.openclaw as Obj | undefined)?.labels;
    if (!isPlainObject(labels)) return;
    for (const [target, label] of Object.entries(labels)) {
      const targetId = this.#entryOfItem.get(itemId(target, 0));
      if (typeof label !== "string" || !label || !targetId) continue;
      const id = this.#id(`${this.session.id}:label:${target}`);
      this.#write(id, this.#timestamp ?? new Date(this.session.createdAt).toISOString(), {
        type: "label",
        targetId,
        label,
      });
    }
  }

  assistant(group: Item[]): void {
    const content: Obj[] = [];
    for (const item of group) {
      const c = item.content as Obj;
      if (item.type === "reasoning") {
        const parts = [...((c.content as unknown[]) ?? []), ...((c.summary as unknown[]) ?? [])];
        content.push({
          type: "thinking",
          thinking: parts
            .map(textOf)
            .filter((t) => t !== null)
            .join("\n"),
        });
      } else if (item.type === "function_call") {
        this.#toolNames.set(String(c.call_id), String(c.name));
        content.push({
          type: "toolCall",
          id: String(c.call_id),
          name: String(c.name),
          arguments: parseArguments(c.arguments),
        });
      } else content.push(...blocksFrom(c.content));
    }
    const meta = this.session.metadata;
    const message = {
      role: "assistant",
      content,
      api: "holdfast",
      provider: meta.openclaw_provider ?? "holdfast",
      model: meta.openclaw_model ?? "unknown",
      usage: {
        input: 0,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 0,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
      },
      stopReason: content.some((b) => b.type === "toolCall") ? "toolUse" : "stop",
      timestamp: group[0]!.createdAt,
    };
    this.push(group, { type: "message", message });
  }

  single(item: Item): void {
    const c = item.content as Obj;
    const ts = item.createdAt;
    if (item.type === "message") {
      if (item.role === "system" || item.role === "developer") {
        const text = blocksFrom(c.content)
          .map((b) => String(b.text ?? ""))
          .join("\n");
        this.push([item], {
          type: "custom_message",
          customType: `holdfast.${item.role}`,
          content: text,
          display: false,
        });
      } else {
        this.push([item], {
          type: "message",
          message: { role: "user", content: blocksFrom(c.content), timestamp: ts },
        });
      }
    } else if (item.type === "function_call_output") {
      const callId = String(c.call_id);
      const message = {
        role: "toolResult",
        toolCallId: callId,
        toolName: this.#toolNames.get(callId) ?? "unknown",
        content: blocksFrom(c.output),
        isError: false,
        timestamp: ts,
      };
      this.push([item], { type: "message", message });
    } else if (item.type === "summary") {
      const summary = readSummary(c as JsonObject);
      const plain =
        !summary.goal && summary.decisions.length + summary.facts.length + summary.openItems.length === 0;
      const text = plain ? summary.recentContext : renderSummary(summary);
      const covers = readCovers(c as JsonObject);
      const kept = covers ? this.#entryOfSeq.get(covers.toSeq + 1) : undefined;
      const body: Obj = { type: "compaction", summary: text, firstKeptEntryId: kept ?? null };
      if (typeof c.tokens_before === "number") body.tokensBefore = c.tokens_before;
      this.push([item], body);
    } else {
      this.push([item], { type: "custom", customType: "holdfast.item", data: c as JsonValue });
    }
  }
}

/** The v3 header line for `session`, reusing the original OpenClaw id and cwd when it was imported. */
export function transcriptHeader(session: Session): JsonObject {
  const oc = (session.state.openclaw ?? {}) as Obj;
  const header = (oc.header ?? {}) as Obj;
  const hex = createHash("sha256").update(session.id).digest("hex");
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  // Forks inherit the parent's state; only the session imported from that transcript reuses its id.
  const isOriginal =
    typeof oc.sessionId === "string" &&
    typeof oc.agentId === "string" &&
    importedSessionId(oc.agentId, oc.sessionId) === session.id;
  return {
    type: "session",
    version: 3,
    id: isOriginal ? (oc.sessionId as string) : uuid,
    timestamp: new Date(session.createdAt).toISOString(),
    cwd: typeof header.cwd === "string" ? header.cwd : process.cwd(),
  };
}

/**
 * Streams session `id` of `tenant` to `writable` as a v3 transcript (the writable is not ended).
 * Nothing is written before the first page of items is read, so a stub whose archive cannot be
 * read fails without leaving a lone header on the writable.
 */
export async function exportTranscript(
  store: SessionStore,
  tenant: string,
  id: string,
  writable: Writable,
  options: TranscriptExportOptions = {},
): Promise<TranscriptExportSummary> {
  const session = await store.get(tenant, id);
  const w = new EntryWriter(session);
  const summary: TranscriptExportSummary = { entries: 0, items: 0, bytes: 0 };
  const write = async (text: string): Promise<void> => {
    summary.bytes += Buffer.byteLength(text);
    if (!writable.write(text)) await once(writable, "drain");
  };
  const flush = async (): Promise<void> => {
    if (w.lines.length === 0) return;
    const text = w.lines.join("");
    w.lines.length = 0;
    await write(text);
  };
  w.lines.push(`${JSON.stringify(transcriptHeader(session))}\n`);
  let group: Item[] = [];
  for await (const item of exportedItems(store, tenant, session, options.readArchive)) {
    summary.items++;
    const sameTurn = group.length > 0 && (item.turnId ?? null) === (group[0]!.turnId ?? null);
    if (isAssistantSide(item) && (group.length === 0 || sameTurn)) {
      group.push(item);
      continue;
    }
    if (group.length > 0) w.assistant(group);
    group = [];
    if (isAssistantSide(item)) group.push(item);
    else w.single(item);
    if (w.lines.length >= 256) await flush();
  }
  if (group.length > 0) w.assistant(group);
  w.labels();
  await flush();
  summary.entries = w.entries;
  return summary;
}

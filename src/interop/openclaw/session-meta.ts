/**
 * What an imported OpenClaw session carries besides its items: a deterministic Holdfast id,
 * metadata (strings ≤ 512 chars, ≤ 16 pairs), labels (restricted charset, ≤ 64 chars) and a
 * `state.openclaw` object with the index entry, header, usage totals and models seen.
 */
import { createHash } from "node:crypto";
import type { JsonObject, JsonValue } from "../../store/types.ts";
import { LIMITS } from "../../store/validate.ts";
import type { IndexEntry } from "./state-dir.ts";
import { keyKind } from "./state-dir.ts";
import type { ParsedTranscript, TranscriptEntry } from "./transcript.ts";
import { messageOf } from "./tree.ts";

const LABEL_PATTERN = /^[\p{L}\p{N}_.:/@+=-]+$/u;

function hashHex(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex");
}

/** The Holdfast session id of an OpenClaw session: the same agent + session id always maps to it. */
export function importedSessionId(agentId: string, sessionId: string): string {
  return `conv_${hashHex("openclaw", agentId, sessionId).slice(0, 32)}`;
}

/** The Holdfast id of the fork made for the branch ending at `leafId`. */
export function importedForkId(agentId: string, sessionId: string, leafId: string): string {
  return `conv_${hashHex("openclaw-fork", agentId, sessionId, leafId).slice(0, 32)}`;
}

/** A label shared by the forks of one OpenClaw session, so they can be listed together. */
export function branchLabel(agentId: string, sessionId: string): string {
  return `openclaw-branch-of:${hashHex("openclaw", agentId, sessionId).slice(0, 24)}`;
}

export function isValidLabel(label: string): boolean {
  return label.length <= LIMITS.labelChars && LABEL_PATTERN.test(label);
}

export function sessionLabels(agentId: string, key: string): string[] {
  return ["openclaw", `openclaw-agent:${agentId}`, key].filter(isValidLabel);
}

/** The metadata keys `sessionMetadata` writes: a re-import replaces these and keeps the others. */
export const OPENCLAW_METADATA_KEYS: ReadonlySet<string> = new Set([
  "openclaw_agent",
  "openclaw_key",
  "openclaw_session_id",
  "openclaw_kind",
  "openclaw_format",
  "openclaw_chat_type",
  "openclaw_model",
  "openclaw_provider",
  "openclaw_label",
  "openclaw_updated_at",
]);

export function sessionMetadata(
  agentId: string,
  entry: IndexEntry,
  parsed: ParsedTranscript | null,
): Record<string, string> {
  const d = entry.data;
  const raw: Record<string, unknown> = {
    openclaw_agent: agentId,
    openclaw_key: entry.key,
    openclaw_session_id: entry.sessionId,
    openclaw_kind: keyKind(entry.key),
    openclaw_format: parsed ? String(parsed.formatVersion) : undefined,
    openclaw_chat_type: d.chatType,
    openclaw_model: d.model,
    openclaw_provider: d.modelProvider,
    openclaw_label: d.label ?? d.displayName ?? d.subject,
    openclaw_updated_at: typeof d.updatedAt === "number" ? new Date(d.updatedAt).toISOString() : undefined,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === "string" && v.length > 0) out[k] = v.slice(0, LIMITS.metadataValueChars);
  }
  return out;
}

interface UsageTotals {
  [key: string]: number;
}

/** Usage summed over the assistant messages of `path`, and the distinct provider/model pairs used. */
export function usageOf(path: TranscriptEntry[]): {
  usage: UsageTotals;
  cost: UsageTotals;
  models: JsonObject[];
} {
  const usage: UsageTotals = {};
  const cost: UsageTotals = {};
  const models = new Map<string, JsonObject>();
  for (const e of path) {
    const m = messageOf(e);
    if (m?.role === "assistant") {
      const u = (m.usage ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(u)) if (typeof v === "number") usage[k] = (usage[k] ?? 0) + v;
      for (const [k, v] of Object.entries((u.cost ?? {}) as Record<string, unknown>)) {
        if (typeof v === "number") cost[k] = Math.round(((cost[k] ?? 0) + v) * 1e9) / 1e9;
      }
      const key = `${String(m.provider)}/${String(m.model)}`;
      if (!models.has(key))
        models.set(key, {
          provider: String(m.provider ?? ""),
          model: String(m.model ?? ""),
          api: String(m.api ?? ""),
        });
    }
  }
  return { usage, cost, models: [...models.values()] };
}

/**
 * The labels pi resolves from a transcript's `label` entries (user bookmarks on entries), target
 * id → label: every label entry in file order, a later one replacing an earlier one's label and
 * one without a label clearing it. A target id names the nearest entry above with that id, as a
 * `parentId` does (an id used twice is `<id>~<n>` here).
 */
export function transcriptLabels(parsed: ParsedTranscript): Record<string, string> {
  const labels: Record<string, string> = {};
  const latest = new Map<string, string>();
  for (const e of parsed.entries) {
    if (e.type === "label" && typeof e.data.targetId === "string") {
      const target = latest.get(e.data.targetId) ?? e.data.targetId;
      if (typeof e.data.label === "string" && e.data.label) labels[target] = e.data.label;
      else delete labels[target];
    }
    if (typeof e.data.id === "string") latest.set(e.data.id, e.id);
  }
  return labels;
}

/** The model pi would run the path's next turn with: the last `model_change` or assistant message. */
export function currentModel(path: TranscriptEntry[]): JsonObject | null {
  let model: JsonObject | null = null;
  for (const e of path) {
    if (
      e.type === "model_change" &&
      typeof e.data.provider === "string" &&
      typeof e.data.modelId === "string"
    )
      model = { provider: e.data.provider, modelId: e.data.modelId };
    const m = messageOf(e);
    if (m?.role === "assistant" && typeof m.provider === "string" && typeof m.model === "string")
      model = { provider: m.provider, modelId: m.model };
  }
  return model;
}

/** The `state` of an imported session. */
export function sessionState(
  agentId: string,
  entry: IndexEntry,
  parsed: ParsedTranscript,
  path: TranscriptEntry[],
  file: string,
): JsonObject {
  const { usage, cost, models } = usageOf(path);
  let sessionName: string | null = null;
  let thinkingLevel: string | null = null;
  for (const e of path) {
    if (e.type === "session_info" && typeof e.data.name === "string") sessionName = e.data.name;
    if (e.type === "thinking_level_change" && typeof e.data.thinkingLevel === "string")
      thinkingLevel = e.data.thinkingLevel;
  }
  return {
    openclaw: {
      agentId,
      key: entry.key,
      sessionId: entry.sessionId,
      file,
      header: (parsed.header ?? null) as JsonValue,
      entry: entry.data as JsonObject,
      activeLeafId: path.at(-1)?.id ?? null,
      sessionName,
      thinkingLevel,
      model: currentModel(path),
      labels: transcriptLabels(parsed),
      usage: { ...usage, cost },
      models,
      tornLines: parsed.tornLines,
    },
  };
}

/**
 * What an import did to a transcript that the items alone do not show: an entry id used twice
 * (kept under another id, or skipped as an exact repeat), a message of a role Holdfast does not
 * know, content blocks no item can carry, a command output pi kept out of the model's context
 * (the last three skipped; see message-items.ts), entries the import does not carry (`custom`
 * bookkeeping, unknown entry types). Each warning is named by a code, counted
 * in the report's totals and printed with the session, so nothing is changed or left out unsaid.
 */
import type { ParsedTranscript, TranscriptEntry } from "./transcript.ts";

export const WARNING_CODES = [
  "duplicate_entry_id",
  "unknown_role",
  "unknown_content",
  "excluded_from_context",
  "not_imported",
] as const;

export type ImportWarningCode = (typeof WARNING_CODES)[number];

export interface ImportWarning {
  code: ImportWarningCode;
  /** The entry's id as written in the transcript. */
  entryId: string;
  /** 0-based line of the entry in the transcript. */
  line: number;
  message: string;
  /** `not_imported` only: the kind of entry left out (`custom 'openclaw.cache-ttl'`, `type 'x'`). */
  kind?: string;
}

/** A count of zero for every code (the report's `totals.warnings`). */
export function noWarnings(): Record<ImportWarningCode, number> {
  return Object.fromEntries(WARNING_CODES.map((c) => [c, 0])) as Record<ImportWarningCode, number>;
}

/** One warning per repeated entry id of `parsed`. */
export function duplicateWarnings(parsed: ParsedTranscript): ImportWarning[] {
  return parsed.duplicates.map((d) => ({
    code: "duplicate_entry_id",
    entryId: d.id,
    line: d.line,
    message:
      d.keptAs === null
        ? `line ${d.line} repeats line ${d.firstLine} exactly (entry '${d.id}'); imported once`
        : `entry id '${d.id}' at line ${d.line} was already used at line ${d.firstLine}; both are imported, this one as '${d.keptAs}'`,
  }));
}

/**
 * Entry types an import carries: as items (see convert.ts) or in the session's state
 * (`model_change`, `thinking_level_change`, `session_info`, `label`).
 */
const CARRIED_TYPES = new Set([
  "message",
  "custom_message",
  "branch_summary",
  "compaction",
  "model_change",
  "thinking_level_change",
  "session_info",
  "label",
]);

/**
 * One `not_imported` warning per kind of entry the import leaves in the transcript: `custom`
 * entries (OpenClaw's and extensions' own bookkeeping, such as the `openclaw.cache-ttl` written
 * after every turn), by `customType`, and entries of a type Holdfast does not know, by type. Each
 * counts its entries and names the first; one per kind, as some are written after every turn.
 */
export function notImportedWarnings(parsed: ParsedTranscript): ImportWarning[] {
  const kinds = new Map<string, { first: TranscriptEntry; count: number }>();
  for (const e of parsed.entries) {
    if (CARRIED_TYPES.has(e.type)) continue;
    const customType = typeof e.data.customType === "string" ? `'${e.data.customType}'` : "(none)";
    const kind = e.type === "custom" ? `custom ${customType}` : `type '${e.type}'`;
    const seen = kinds.get(kind);
    if (seen) seen.count++;
    else kinds.set(kind, { first: e, count: 1 });
  }
  return [...kinds].map(([kind, { first, count }]) => {
    const entries = count === 1 ? "entry" : "entries";
    const what =
      first.type === "custom"
        ? `${count} 'custom' ${entries} of customType ${typeof first.data.customType === "string" ? `'${first.data.customType}'` : "(none)"} (extension state, not model context)`
        : `${count} ${entries} of type '${first.type}', which Holdfast does not know,`;
    return {
      code: "not_imported" as const,
      kind,
      entryId: typeof first.data.id === "string" ? first.data.id : first.id,
      line: first.line,
      message: `${what} not imported, left in the transcript; the first at line ${first.line}`,
    };
  });
}

/** Each warning once (a fork converts its shared prefix again), in file order. */
export function mergeWarnings(warnings: ImportWarning[]): ImportWarning[] {
  const seen = new Map<string, ImportWarning>();
  for (const w of warnings) seen.set(`${w.line}\0${w.code}\0${w.message}`, w);
  return [...seen.values()].sort((a, b) => a.line - b.line);
}

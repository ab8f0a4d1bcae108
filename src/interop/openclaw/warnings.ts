/**
 * What an import did to a transcript that the items alone do not show: an entry id used twice
 * (kept under another id, or skipped as an exact repeat), a message of a role Holdfast does not
 * know, content blocks no item can carry, a command output pi kept out of the model's context
 * (the last three skipped; see message-items.ts). Each warning is named by a code, counted
 * in the report's totals and printed with the session, so nothing is changed or left out unsaid.
 */
import type { ParsedTranscript } from "./transcript.ts";

export const WARNING_CODES = [
  "duplicate_entry_id",
  "unknown_role",
  "unknown_content",
  "excluded_from_context",
] as const;

export type ImportWarningCode = (typeof WARNING_CODES)[number];

export interface ImportWarning {
  code: ImportWarningCode;
  /** The entry's id as written in the transcript. */
  entryId: string;
  /** 0-based line of the entry in the transcript. */
  line: number;
  message: string;
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

/** Each warning once (a fork converts its shared prefix again), in file order. */
export function mergeWarnings(warnings: ImportWarning[]): ImportWarning[] {
  const seen = new Map<string, ImportWarning>();
  for (const w of warnings) seen.set(`${w.line}\0${w.code}\0${w.message}`, w);
  return [...seen.values()].sort((a, b) => a.line - b.line);
}

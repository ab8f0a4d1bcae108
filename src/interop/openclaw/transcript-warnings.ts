/**
 * The warnings `openclaw import` gives a transcript, for the audit to report without importing:
 * repeated entry ids, entries left in the transcript, and what the messages of every branch hold
 * that no item carries. The import converts the active path and each other branch (its fork);
 * here each of those entries is converted once, on its own, which gives the same warnings (a
 * message's warnings depend on that message alone).
 */
import { entryWarnings } from "./convert.ts";
import type { ParsedTranscript, TranscriptEntry } from "./transcript.ts";
import type { TranscriptAnalysis } from "./tree.ts";
import { duplicateWarnings, type ImportWarning, mergeWarnings, notImportedWarnings } from "./warnings.ts";

/** Every entry the import converts: the active path and the chain of every other leaf. */
function convertedEntries(parsed: ParsedTranscript, analysis: TranscriptAnalysis): TranscriptEntry[] {
  const byId = new Map(parsed.entries.map((e) => [e.id, e]));
  const seen = new Set<string>(analysis.path.map((e) => e.id));
  const out = [...analysis.path];
  for (const leaf of analysis.otherLeaves) {
    let e: TranscriptEntry | undefined = leaf;
    while (e && !seen.has(e.id)) {
      seen.add(e.id);
      out.push(e);
      e = e.parentId ? byId.get(e.parentId) : undefined;
    }
  }
  return out;
}

/** The warnings an import of `parsed` reports, in file order. */
export function transcriptWarnings(parsed: ParsedTranscript, analysis: TranscriptAnalysis): ImportWarning[] {
  return mergeWarnings([
    ...duplicateWarnings(parsed),
    ...notImportedWarnings(parsed),
    ...convertedEntries(parsed, analysis).flatMap(entryWarnings),
  ]);
}

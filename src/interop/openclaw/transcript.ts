/**
 * Parses an OpenClaw (pi) session transcript, format v1–v3: a `session` header line, then one
 * entry per line. v2/v3 entries carry `id`/`parentId` and form a tree; v1 files are linear and
 * their entries are identified by their 0-based line number (header = 0); a v1 compaction's
 * `firstKeptEntryIndex` counts parsable lines only (`index`), as pi's loader did. Unparsable lines (a crash mid-append) are skipped and
 * counted as torn, never fatal. Like pi's loader, blank lines are skipped, CRLF is accepted, and the
 * header is the first parsable line even when blank or torn lines come before it; a byte order
 * mark at the start of the file (an editor's) is dropped rather than tearing the header.
 *
 * Repeated v2/v3 entry ids. pi never writes one (its ids are checked against the file's), but two
 * processes appending to one file, or a first write retried after a failure, can. pi's own index
 * keeps the last entry of an id, so an earlier one vanishes, and its children with it. Here nothing
 * vanishes: a line that repeats an earlier entry exactly (same id, same content) is the same entry
 * written twice and is skipped; an entry that reuses an id with other content is kept under
 * `<id>~<n>` (its n-th use), and a `parentId` names the nearest entry above it with that id (a
 * child is always appended after its parent). Every repeat is listed in `duplicates`.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { isPlainObject } from "../../store/validate.ts";
import { readLines } from "../lines.ts";

export type FormatVersion = 1 | 2 | 3;

export interface TranscriptEntry {
  /** The entry id; for v1 the line number as a string. */
  id: string;
  parentId: string | null;
  type: string;
  /** 0-based line number in the file. */
  line: number;
  /**
   * Position among the parsable lines (header = 0): what pi's v1 loader indexed, so
   * what a v1 `firstKeptEntryIndex` means when blank or torn lines came before.
   */
  index: number;
  /** The whole parsed line. */
  data: Record<string, unknown>;
}

/** A v2/v3 entry whose id an earlier entry of the file already had. */
export interface DuplicateEntry {
  /** The id as written. */
  id: string;
  /** 0-based line of the repeat, and of the first entry with this id. */
  line: number;
  firstLine: number;
  /** The id it is known by here (`<id>~<n>`), or null when it repeated an entry exactly and was skipped. */
  keptAs: string | null;
}

export interface ParsedTranscript {
  header: Record<string, unknown> | null;
  formatVersion: FormatVersion;
  entries: TranscriptEntry[];
  /** 0-based line numbers of lines that did not parse. */
  tornLines: number[];
  /** Entries whose id was already taken (v2/v3), in file order. */
  duplicates: DuplicateEntry[];
  bytes: number;
}

const BOM = "\uFEFF";

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) && typeof value.type === "string" ? value : null;
  } catch {
    return null;
  }
}

function versionOf(header: Record<string, unknown> | null): FormatVersion {
  const v = header?.version;
  return v === 2 || v === 3 ? v : 1;
}

export interface ParseOptions {
  /**
   * Throw on bytes that are not UTF-8 instead of decoding them as U+FFFD (which would change the
   * text silently). A character cut off at the very end of the file (a torn last line) is not an
   * error: that line is torn like any other.
   */
  strictUtf8?: boolean;
}

/** `input` as is, throwing once a byte sequence that is not UTF-8 has gone through. */
async function* checkedUtf8(
  input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): AsyncGenerator<Buffer | string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let offset = 0;
  for await (const chunk of input) {
    if (typeof chunk !== "string") {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        throw new Error(`not valid UTF-8 (in the bytes ${offset}–${offset + chunk.length})`);
      }
      offset += chunk.length;
    }
    yield chunk;
  }
}

/**
 * The ids of a v2/v3 file so far: which entry a `parentId` names (the nearest above with that id)
 * and what a repeated id becomes.
 */
class EntryIds {
  /** Own id → the entries that carried it, in file order. */
  private readonly seen = new Map<string, TranscriptEntry[]>();

  /** The unique id of the entry `parentId` names, as seen from the line being read. */
  parent(parentId: string): string {
    return this.seen.get(parentId)?.at(-1)?.id ?? parentId;
  }

  /**
   * Registers `entry` (its `id` still the one written): returns false when it repeats an earlier
   * entry exactly (skip it), else renames a reused id and returns true.
   */
  add(entry: TranscriptEntry, duplicates: DuplicateEntry[]): boolean {
    const own = entry.id;
    const earlier = this.seen.get(own);
    if (!earlier) {
      this.seen.set(own, [entry]);
      return true;
    }
    const text = JSON.stringify(entry.data);
    const same = earlier.find((e) => JSON.stringify(e.data) === text);
    const firstLine = earlier[0]!.line;
    if (same) {
      // Children below this line name the copy that was kept.
      earlier.push(same);
      duplicates.push({ id: own, line: entry.line, firstLine, keptAs: null });
      return false;
    }
    entry.id = `${own}~${earlier.length + 1}`;
    earlier.push(entry);
    duplicates.push({ id: own, line: entry.line, firstLine, keptAs: entry.id });
    return true;
  }
}

/** Parses transcript lines from a stream (constant memory per line). */
export async function parseTranscriptStream(
  input: Readable | AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: ParseOptions = {},
): Promise<ParsedTranscript> {
  const result: ParsedTranscript = {
    header: null,
    formatVersion: 1,
    entries: [],
    tornLines: [],
    duplicates: [],
    bytes: 0,
  };
  const ids = new EntryIds();
  let line = -1;
  let parsedLines = 0;
  let previous: string | null = null;
  const source = options.strictUtf8 ? checkedUtf8(input) : input;
  for await (const { text } of readLines(source)) {
    line++;
    result.bytes += Buffer.byteLength(text) + 1;
    const unmarked = line === 0 && text.startsWith(BOM) ? text.slice(BOM.length) : text;
    const trimmed = unmarked.endsWith("\r") ? unmarked.slice(0, -1) : unmarked;
    if (trimmed.trim().length === 0) continue;
    const data = parseObject(trimmed);
    const index = data ? parsedLines++ : -1;
    if (!data) {
      result.tornLines.push(line);
      continue;
    }
    if (index === 0 && data.type === "session") {
      result.header = data;
      result.formatVersion = versionOf(data);
      continue;
    }
    const type = data.type as string;
    if (result.formatVersion === 1) {
      const id = String(line);
      result.entries.push({ id, parentId: previous, type, line, index, data });
      previous = id;
      continue;
    }
    // The parent is resolved before this entry is registered: an entry naming its own id as
    // parent names the earlier entry of that id, not itself.
    const parentId = typeof data.parentId === "string" ? ids.parent(data.parentId) : null;
    if (typeof data.id !== "string") {
      result.entries.push({ id: `line-${line}`, parentId, type, line, index, data });
      continue;
    }
    const entry: TranscriptEntry = { id: data.id, parentId, type, line, index, data };
    if (ids.add(entry, result.duplicates)) result.entries.push(entry);
  }
  return result;
}

/** Parses the transcript at `path`. */
export async function parseTranscriptFile(
  path: string,
  options: ParseOptions = {},
): Promise<ParsedTranscript> {
  return parseTranscriptStream(createReadStream(path), options);
}

/**
 * Reads a transcript as `import` does (strict UTF-8). What keeps it from being read — a directory
 * where the file should be, no read permission, bytes that are not UTF-8 — comes back as a
 * sentence naming the file, so one bad transcript is reported and the caller goes on.
 */
export async function readTranscriptFile(
  path: string,
  fileName: string,
): Promise<{ parsed: ParsedTranscript } | { problem: string }> {
  try {
    return { parsed: await parseTranscriptFile(path, { strictUtf8: true }) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { problem: `transcript ${fileName} could not be read: ${reason}` };
  }
}

/** Parses transcript text already in memory. */
export function parseTranscriptText(text: string): Promise<ParsedTranscript> {
  return parseTranscriptStream([text]);
}

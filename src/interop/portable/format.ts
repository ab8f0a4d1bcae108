/**
 * The portable session format (`holdfast.sessions` v1): JSONL, one JSON object per line.
 *
 *   manifest            {kind:"manifest", format, version, source, exportedAt, counts:null, checksums}
 *   per session:
 *     session           {kind:"session", session}
 *     item × n          {kind:"item", item}
 *     session_end       {kind:"session_end", id, items, sha256}   sha256 over this session's item lines
 *   trailer             {kind:"trailer", counts:{sessions, items}, sha256}  sha256 over every item line
 *
 * A streaming writer cannot know counts or checksums when it writes the first line, so the
 * manifest says where they are (`checksums.location: "trailer"`) and the trailer carries them.
 * Hashes cover the exact bytes of each item line including its `\n`, so a reader verifies what
 * it read without re-serializing. Archives (one session) use the same lines.
 */
import { createHash, type Hash } from "node:crypto";
import { InvalidArgumentError } from "../../store/errors.ts";
import type { Item, Session } from "../../store/types.ts";

export const PORTABLE_FORMAT = "holdfast.sessions";
export const PORTABLE_VERSION = 1;

export interface PortableSource {
  /** Store driver name (`memory`, `sqlite`, …) or another producer such as `openclaw`. */
  driver: string;
  tenant: string;
}

export interface ManifestLine {
  kind: "manifest";
  format: typeof PORTABLE_FORMAT;
  version: number;
  source: PortableSource;
  exportedAt: string;
  /** Always null when streamed: the trailer holds the final counts. */
  counts: { sessions: number; items: number } | null;
  checksums: { algorithm: "sha256"; scope: "item-lines"; location: "trailer" };
}

export interface SessionLine {
  kind: "session";
  session: Session;
}

export interface ItemLine {
  kind: "item";
  item: Item;
}

export interface SessionEndLine {
  kind: "session_end";
  id: string;
  items: number;
  sha256: string;
}

export interface TrailerLine {
  kind: "trailer";
  counts: { sessions: number; items: number };
  sha256: string;
}

export type PortableLine = ManifestLine | SessionLine | ItemLine | SessionEndLine | TrailerLine;

/** A file that is not a complete, intact portable export. */
export class PortableFormatError extends InvalidArgumentError {
  /** `line` is null when the damage is not in a line (compressed data that does not decompress). */
  constructor(message: string, line: number | null) {
    super(`Portable file${line === null ? "" : `, line ${line}`}: ${message}`, { param: "file" });
  }
}

/**
 * Produces the lines of one export, keeping the running counts and hashes. Each method returns
 * the exact text to write (ending in `\n`).
 */
export class PortableWriter {
  readonly #total: Hash = createHash("sha256");
  #session: Hash | null = null;
  #sessionId = "";
  #sessionItems = 0;
  #sessions = 0;
  #items = 0;

  manifest(source: PortableSource, exportedAt: Date = new Date()): string {
    const line: ManifestLine = {
      kind: "manifest",
      format: PORTABLE_FORMAT,
      version: PORTABLE_VERSION,
      source,
      exportedAt: exportedAt.toISOString(),
      counts: null,
      checksums: { algorithm: "sha256", scope: "item-lines", location: "trailer" },
    };
    return `${JSON.stringify(line)}\n`;
  }

  session(session: Session): string {
    if (this.#session) throw new Error("PortableWriter: end the previous session first.");
    this.#session = createHash("sha256");
    this.#sessionId = session.id;
    this.#sessionItems = 0;
    return `${JSON.stringify({ kind: "session", session } satisfies SessionLine)}\n`;
  }

  item(item: Item): string {
    if (!this.#session) throw new Error("PortableWriter: write a session line before its items.");
    const text = `${JSON.stringify({ kind: "item", item } satisfies ItemLine)}\n`;
    this.#session.update(text);
    this.#total.update(text);
    this.#sessionItems++;
    this.#items++;
    return text;
  }

  endSession(): string {
    if (!this.#session) throw new Error("PortableWriter: no session to end.");
    const line: SessionEndLine = {
      kind: "session_end",
      id: this.#sessionId,
      items: this.#sessionItems,
      sha256: this.#session.digest("hex"),
    };
    this.#session = null;
    this.#sessions++;
    return `${JSON.stringify(line)}\n`;
  }

  trailer(): TrailerLine & { text: string } {
    const line: TrailerLine = {
      kind: "trailer",
      counts: { sessions: this.#sessions, items: this.#items },
      sha256: this.#total.digest("hex"),
    };
    return { ...line, text: `${JSON.stringify(line)}\n` };
  }
}

/**
 * Streaming reader of the portable format. Yields one session with its items only after that
 * session's `session_end` line has been read and its count and sha256 verified, so a caller that
 * writes what it receives never half-writes a session from a truncated or corrupted file. The
 * trailer is checked last: a file cut between sessions fails there, after the intact sessions.
 */
import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import type { Item, Session } from "../../store/types.ts";
import { isPlainObject } from "../../store/validate.ts";
import { readLines } from "../lines.ts";
import { type ManifestLine, PORTABLE_FORMAT, PORTABLE_VERSION, PortableFormatError } from "./format.ts";

export interface PortableSessionBlock {
  session: Session;
  items: Item[];
  /** The line of its `session` line, when read from a file (`readPortable`): item i is on `line + 1 + i`. */
  line?: number;
}

export interface ReadPortableOptions {
  /** Called once with the manifest, before any session is yielded. */
  onManifest?: (manifest: ManifestLine) => void;
}

function parseLine(text: string, lineNo: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PortableFormatError(
      "not valid JSON — the file is truncated or corrupted; re-export it or restore an intact copy.",
      lineNo,
    );
  }
  if (!isPlainObject(value) || typeof value.kind !== "string") {
    throw new PortableFormatError("expected an object with a string 'kind'.", lineNo);
  }
  return value;
}

function checkManifest(value: Record<string, unknown>, lineNo: number): ManifestLine {
  if (value.kind !== "manifest" || value.format !== PORTABLE_FORMAT) {
    throw new PortableFormatError(`the first line must be a '${PORTABLE_FORMAT}' manifest.`, lineNo);
  }
  if (value.version !== PORTABLE_VERSION) {
    throw new PortableFormatError(
      `format version ${String(value.version)} is not supported (this Holdfast reads version ${PORTABLE_VERSION}); upgrade Holdfast to import it.`,
      lineNo,
    );
  }
  return value as unknown as ManifestLine;
}

/** Reads a portable export, yielding verified sessions; throws PortableFormatError on any damage. */
export async function* readPortable(
  input: Readable | AsyncIterable<Buffer | string>,
  options: ReadPortableOptions = {},
): AsyncGenerator<PortableSessionBlock> {
  const total: Hash = createHash("sha256");
  let lineNo = 0;
  let manifest: ManifestLine | null = null;
  let current: { session: Session; items: Item[]; hash: Hash; line: number } | null = null;
  let sessions = 0;
  let items = 0;
  let trailerSeen = false;
  // Line of each session id: a second copy would be skipped as "existing" or fail as a conflict.
  const seen = new Map<string, number>();
  for await (const { text, terminated } of readLines(input)) {
    lineNo++;
    if (!terminated) {
      throw new PortableFormatError(
        "the last line has no newline: the file is truncated; re-export it or restore an intact copy.",
        lineNo,
      );
    }
    if (trailerSeen) throw new PortableFormatError("content after the trailer line.", lineNo);
    if (text.length === 0) throw new PortableFormatError("empty line.", lineNo);
    // Both come from a text tool, not from damage: say which, so the fix is a conversion back.
    if (text.endsWith("\r")) {
      throw new PortableFormatError(
        "the line ends in \\r\\n (Windows line endings, e.g. from git's autocrlf or a text editor): the checksums cover the \\n-terminated lines; convert the file back to \\n line endings (dos2unix) and import again.",
        lineNo,
      );
    }
    if (lineNo === 1 && text.startsWith("\uFEFF")) {
      throw new PortableFormatError(
        "the file starts with a byte order mark (added by a text editor); remove it and import again.",
        lineNo,
      );
    }
    const value = parseLine(text, lineNo);
    if (!manifest) {
      manifest = checkManifest(value, lineNo);
      options.onManifest?.(manifest);
      continue;
    }
    switch (value.kind) {
      case "session": {
        if (current) throw new PortableFormatError("a session starts before the previous one ended.", lineNo);
        if (!isPlainObject(value.session) || typeof value.session.id !== "string") {
          throw new PortableFormatError("session line without a session object.", lineNo);
        }
        const first = seen.get(value.session.id);
        if (first !== undefined) {
          throw new PortableFormatError(
            `session '${value.session.id}' appears twice (first on line ${first}); the file was edited or concatenated: keep one copy.`,
            lineNo,
          );
        }
        seen.set(value.session.id, lineNo);
        current = {
          session: value.session as unknown as Session,
          items: [],
          hash: createHash("sha256"),
          line: lineNo,
        };
        break;
      }
      case "item": {
        if (!current) throw new PortableFormatError("an item outside a session.", lineNo);
        if (!isPlainObject(value.item)) throw new PortableFormatError("item line without an item.", lineNo);
        const raw = `${text}\n`;
        current.hash.update(raw);
        total.update(raw);
        current.items.push(value.item as unknown as Item);
        break;
      }
      case "session_end": {
        if (!current || value.id !== current.session.id) {
          throw new PortableFormatError("session_end does not match the open session.", lineNo);
        }
        const digest = current.hash.digest("hex");
        if (value.items !== current.items.length || value.sha256 !== digest) {
          throw new PortableFormatError(
            value.items !== current.items.length
              ? `session '${current.session.id}' has ${current.items.length} item(s) where its session_end says ${String(value.items)}; the file is corrupted.`
              : `session '${current.session.id}' does not match its checksum: an item line was changed; the file is corrupted.`,
            lineNo,
          );
        }
        sessions++;
        items += current.items.length;
        const block = { session: current.session, items: current.items, line: current.line };
        current = null;
        yield block;
        break;
      }
      case "trailer": {
        if (current) throw new PortableFormatError("trailer inside an unfinished session.", lineNo);
        const counts = isPlainObject(value.counts) ? value.counts : {};
        if (counts.sessions !== sessions || counts.items !== items || value.sha256 !== total.digest("hex")) {
          throw new PortableFormatError(
            `trailer counts/checksum do not match the content (${sessions} sessions, ${items} items read); the file is corrupted.`,
            lineNo,
          );
        }
        trailerSeen = true;
        break;
      }
      default:
        throw new PortableFormatError(`unknown line kind '${String(value.kind)}'.`, lineNo);
    }
  }
  if (!manifest) throw new PortableFormatError("the file is empty.", Math.max(lineNo, 1));
  if (!trailerSeen) {
    const where = current ? ` inside session '${current.session.id}' (not imported)` : "";
    throw new PortableFormatError(
      `the file ends without its trailer${where}: it is truncated. ${sessions} complete, verified session(s) were read before the cut; re-export, then import again with onConflict "skip" to finish.`,
      lineNo,
    );
  }
}

/**
 * `--out <file>` for the export commands: written beside the target and renamed when complete,
 * so a failed export never leaves a plausible partial file; a bad path is a usage error (exit 2).
 */
import { once } from "node:events";
import { createWriteStream, renameSync, rmSync, statSync, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { InvalidArgumentError } from "../store/errors.ts";

/** Runs `write` on a stream to a temporary file beside `target`, then renames it to `target`. */
export async function writeOutputFile<T>(
  target: string,
  write: (out: WriteStream) => Promise<T>,
): Promise<T> {
  if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidArgumentError(`--out '${target}' is a directory; name the file to write.`, {
      param: "out",
    });
  }
  const tmp = `${target}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  try {
    await once(out, "open");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidArgumentError(
      `Cannot write --out '${target}' (${reason}); check that its directory exists and is writable.`,
      { param: "out" },
    );
  }
  try {
    const result = await write(out);
    out.end();
    await finished(out);
    renameSync(tmp, target);
    return result;
  } catch (error) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw error;
  }
}

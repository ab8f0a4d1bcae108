/**
 * `--out <file>` for the export commands: written beside the target and renamed when complete,
 * so a failed or interrupted export never leaves a plausible partial file, nor its temporary one;
 * a bad path is a usage error (exit 2).
 */
import { once } from "node:events";
import { createWriteStream, renameSync, rmSync, statSync, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { InvalidArgumentError } from "../store/errors.ts";
import { untilAborted } from "./interrupt.ts";

/**
 * Runs `write` on a stream to a temporary file beside `target`, then renames it to `target`.
 * When `signal` aborts (Ctrl-C, see interrupt.ts) the temporary file is removed at once and the
 * call rejects with the signal's reason, even while `write` waits on a slow store.
 */
export async function writeOutputFile<T>(
  target: string,
  write: (out: WriteStream) => Promise<T>,
  signal?: AbortSignal,
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
  const discard = (): void => {
    out.destroy();
    rmSync(tmp, { force: true });
  };
  signal?.addEventListener("abort", discard, { once: true });
  try {
    const result = await untilAborted(write(out), signal);
    out.end();
    await untilAborted(finished(out), signal);
    renameSync(tmp, target);
    return result;
  } catch (error) {
    discard();
    throw error;
  } finally {
    signal?.removeEventListener("abort", discard);
  }
}

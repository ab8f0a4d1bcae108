/**
 * A lock file shared by processes (Node has no portable `flock`): `<path>.lock` holds its
 * owner `{ pid, host, token, at }`. It is created complete in one step (written to a temp name,
 * then hard-linked into place, which fails if the lock exists), so a reader never sees a
 * half-written owner. A lock whose holder crashed would block every writer forever, so a lock is
 * taken over when its holder is a dead process on this host, or when it is older than `staleMs`
 * (a holder on another host, or a pid reused since the crash).
 */
import { randomBytes } from "node:crypto";
import { link, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";

export interface FileLockOptions {
  /** How long to wait for the lock before throwing (ms), default 10 000. */
  timeoutMs?: number;
  /** A lock older than this is taken over even if its holder seems alive (ms), default 30 000. */
  staleMs?: number;
}

/** A lock (or a lock's temp file) older than this belongs to no live holder (ms). */
export const DEFAULT_STALE_MS = 30_000;

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  at: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner> | null;
    return typeof owner?.pid === "number" && typeof owner.host === "string" ? (owner as LockOwner) : null;
  } catch {
    return null;
  }
}

/** `kill(pid, 0)` checks existence without signalling; EPERM means it exists but is not ours. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}

/**
 * Removes the lock if it is stale. Returns what is known of the holder (for the timeout
 * message), or `null` when the lock is gone and can be tried again at once.
 */
async function clearIfStale(lockPath: string, staleMs: number): Promise<{ owner: LockOwner | null } | null> {
  let text: string;
  let modified: number;
  try {
    modified = (await stat(lockPath)).mtimeMs;
    text = await readFile(lockPath, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    throw error;
  }
  const owner = parseOwner(text);
  const dead = owner !== null && owner.host === hostname() && !isAlive(owner.pid);
  if (!dead && Date.now() - modified < staleMs) return { owner };
  // Two waiters may judge the same lock stale: one at a time removes it, and only if it is still
  // that lock (its text holds a unique token), never the fresh one the other waiter just took.
  const breaker = `${lockPath}.break`;
  try {
    await writeFile(breaker, String(process.pid), { flag: "wx" });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
    // Another waiter is breaking it; a breaker that crashed in those few milliseconds is stale too.
    const since = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > staleMs) await unlink(breaker).catch(() => {});
    return { owner };
  }
  try {
    const current = await readFile(lockPath, "utf8").catch(() => null);
    if (current === text) await unlink(lockPath).catch(() => {});
  } finally {
    await unlink(breaker).catch(() => {});
  }
  return null;
}

/** Runs `body` while holding `lockPath`; throws, naming the holder, if it cannot be had in time. */
export async function withFileLock<T>(
  lockPath: string,
  options: FileLockOptions,
  body: () => Promise<T>,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const token = `${process.pid}-${randomBytes(8).toString("hex")}`;
  const owner: LockOwner = { pid: process.pid, host: hostname(), token, at: Date.now() };
  const temp = `${lockPath}.${token}.tmp`;
  await writeFile(temp, JSON.stringify(owner), { flag: "wx" });
  try {
    const deadline = Date.now() + timeoutMs;
    let delay = 2;
    for (;;) {
      try {
        await link(temp, lockPath);
        break;
      } catch (error) {
        if (errorCode(error) === "ENOENT") {
          // Our owner file was removed as a leftover (a wait longer than the stale period): again.
          await writeFile(temp, JSON.stringify(owner), { flag: "wx" }).catch((again: unknown) => {
            if (errorCode(again) !== "EEXIST") throw again;
          });
          continue;
        }
        if (errorCode(error) !== "EEXIST") throw error;
      }
      const held = await clearIfStale(lockPath, staleMs);
      if (held === null) continue;
      if (Date.now() >= deadline) {
        const who = held.owner ? `pid ${held.owner.pid} on ${held.owner.host}` : "an unknown holder";
        throw new Error(
          `createFileStorage: could not lock '${lockPath}' within ${timeoutMs} ms: it is held by ${who}. If no process using this storage is running, delete the lock file.`,
        );
      }
      // Jitter, so waiting processes do not retry in lockstep.
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 50);
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
  try {
    return await body();
  } finally {
    // Only our own lock: if it was taken over as stale meanwhile, the file is someone else's now.
    const current = await readFile(lockPath, "utf8").catch(() => null);
    if (current !== null && parseOwner(current)?.token === token) await unlink(lockPath).catch(() => {});
  }
}

/**
 * How the Redis driver reaches its Lua scripts: registering them on the client, calling them
 * (ioredis' `…Buffer` variants for binary encodings), and the status check every operation shares.
 */
import { SessionArchivedError, sessionNotFound, versionConflict } from "../errors.ts";
import type { RedisClient } from "./redis-connect.ts";
import type { SessionKeys } from "./redis-keys.ts";
import {
  LEASE_SCRIPTS,
  type LeaseScriptName,
  LIFECYCLE_SCRIPTS,
  type LifecycleScriptName,
} from "./redis-lifecycle-scripts.ts";
import type { ListContext } from "./redis-list.ts";
import type { Arg, Reply, ScriptRunner } from "./redis-replica.ts";
import {
  APPEND_BATCH_SCRIPT,
  APPEND_CLAIMED_BATCH_SCRIPT,
  SCRIPT_KEY_COUNT,
  SCRIPTS,
  type ScriptName,
} from "./redis-scripts.ts";

/** What the driver's operation modules (create, append, session writes, reads) need from it. */
export interface OpsContext extends ScriptRunner {
  list: ListContext;
}

export type BatchScriptName = "hfAppendBatch" | "hfAppendClaimedBatch";

/** Defines every script of the driver as a client command (EVALSHA, EVAL on NOSCRIPT). */
export function defineDriverScripts(client: RedisClient): void {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys: SCRIPT_KEY_COUNT, lua });
  }
  client.defineCommand("hfAppendBatch", { lua: APPEND_BATCH_SCRIPT });
  client.defineCommand("hfAppendClaimedBatch", { lua: APPEND_CLAIMED_BATCH_SCRIPT });
  for (const [name, lua] of Object.entries(LIFECYCLE_SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys: SCRIPT_KEY_COUNT, lua });
  }
  for (const [name, lua] of Object.entries(LEASE_SCRIPTS))
    client.defineCommand(name, { numberOfKeys: 1, lua });
}

type Command<R> = (...args: (Arg | Arg[])[]) => Promise<R>;

/** The command defineCommand added under `name`. */
function command<R>(client: RedisClient, name: string): Command<R> {
  return (client as unknown as Record<string, Command<R>>)[name]!;
}

/** Calls the defined scripts; `binary` reads replies as Buffers. */
export class ScriptCalls {
  readonly #client: RedisClient;
  readonly #binary: boolean;

  constructor(client: RedisClient, binary: boolean) {
    this.#client = client;
    this.#binary = binary;
  }

  /** Runs one session script. */
  run(name: ScriptName, keys: SessionKeys, args: Arg[]): Promise<Reply> {
    // One array argument (ioredis flattens it): a fork copies up to 4 args per item, past the
    // engine's limit on spread call arguments.
    return command<Reply>(this.#client, this.#binary ? `${name}Buffer` : name).call(
      this.#client,
      ...keys,
      args,
    );
  }

  /** The batched append script: its key count leads the arguments (5 per append). */
  runBatch(name: BatchScriptName, keys: string[], args: Arg[]): Promise<Reply[]> {
    const fn = command<Reply[]>(this.#client, this.#binary ? `${name}Buffer` : name);
    return fn.call(this.#client, keys.length, ...keys, args);
  }

  /** Lifecycle and lease scripts reply with statuses and session fields only: plain strings. */
  runLifecycle(name: LifecycleScriptName | LeaseScriptName, keys: string[], args: Arg[]): Promise<Reply> {
    return command<Reply>(this.#client, name).call(this.#client, ...keys, args);
  }
}

/** Maps the script statuses every mutation shares; returns the reply when it is a success. */
export function checkReply(reply: Reply, id: string, expected?: number): Reply {
  const status = String(reply[0]);
  if (status === "nf") throw sessionNotFound(id);
  if (status === "arch") throw new SessionArchivedError(id);
  if (status === "ver") throw versionConflict(id, expected ?? 0, Number(reply[1]));
  return reply;
}

/**
 * A throw-away Postgres cluster for outage tests: `initdb` into a temp dir, `pg_ctl` on a free
 * loopback port, trust auth, fsync off. Unlike the shared server on 5432, it can be stopped
 * (`pg_ctl stop -m immediate`: every backend dies at once, like a crashed server) and started
 * again on the same port and data. Run as root, the binaries run as the `postgres` user
 * (initdb refuses root).
 */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../support/free-port.ts";

const run = promisify(execFile);

export interface PostgresServerHandle {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  /** Stops the server at once (`immediate`: backends are killed, nothing is flushed politely). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error(`No Postgres binaries under ${root}.`);
  return join(root, versions[0], "bin");
}

/** Runs a Postgres binary, as the `postgres` user when we are root. */
async function pgRun(tool: string, args: string[]): Promise<void> {
  const bin = join(binDir(), tool);
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  await run(file, argv, { timeout: 60_000 });
}

async function postgresUid(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const { stdout: uid } = await run("id", ["-u", "postgres"]);
  const { stdout: gid } = await run("id", ["-g", "postgres"]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** Creates and starts a cluster on a free loopback port. */
export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-pg-"));
  const owner = await postgresUid();
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  const port = await freePort();
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
  ].join(" ");
  const start = (): Promise<void> =>
    pgRun("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "-t", "30", "start"]);
  await pgRun("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  await start();
  const kill = (): Promise<void> => pgRun("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    restart: start,
    stop: async () => {
      await kill().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

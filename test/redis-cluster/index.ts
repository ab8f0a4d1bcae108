/**
 * Starts real Redis servers for tests on free loopback ports: a 3-master Redis Cluster
 * (`redis-server --cluster-enabled yes` + `redis-cli --cluster create`) or a single
 * throw-away server (to kill and restart in outage tests). Everything runs as child
 * processes in a temp dir; `stop()` kills them and removes the dir.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort } from "../support/free-port.ts";

const run = promisify(execFile);

export interface RedisServerHandle {
  port: number;
  url: string;
  /** Kills the server (SIGKILL when `hard`), keeping its port and dir for `restart()`. */
  kill(hard?: boolean): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterHandle {
  ports: number[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` */
  url: string;
  /** SIGKILLs the master at `index` (its slots become unreachable). */
  killNode(index: number): Promise<void>;
  /** Restarts the master at `index` with its cluster config (it rejoins owning the same slots, empty). */
  restartNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    if (port > 55_000 || taken.has(port)) continue;
    if (await canListen(port + 10_000)) return port;
  }
  throw new Error("No free port pair (port, port + 10000) found on 127.0.0.1.");
}

async function ping(port: number, password?: string): Promise<boolean> {
  const auth = password === undefined ? [] : ["--no-auth-warning", "-a", password];
  try {
    const { stdout } = await run("redis-cli", ["-p", String(port), ...auth, "ping"], { timeout: 2000 });
    return stdout.trim() === "PONG";
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`Timed out waiting for ${what}.`);
}

function spawnServer(port: number, dir: string, cluster: boolean, extra: string[] = []): ChildProcess {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra];
  args.push("--daemonize", "no", "--dir", dir, "--logfile", join(dir, `redis-${port}.log`));
  if (cluster) {
    args.push("--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${port}.conf`));
    args.push("--cluster-node-timeout", "5000");
  }
  return spawn("redis-server", args, { stdio: "ignore" });
}

async function killChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const force = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(force);
}

export interface RedisServerOptions {
  /** Sets `requirepass`, so clients must authenticate. */
  password?: string;
}

/** Starts a standalone throw-away Redis on a free port. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-redis-"));
  const port = await freePort();
  const extra = options.password === undefined ? [] : ["--requirepass", options.password];
  const up = (): Promise<boolean> => ping(port, options.password);
  let child = spawnServer(port, dir, false, extra);
  await waitFor(`redis-server on port ${port}`, up);
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill: (hard = false) => killChild(child, hard ? "SIGKILL" : "SIGTERM"),
    restart: async () => {
      child = spawnServer(port, dir, false, extra);
      await waitFor(`redis-server on port ${port}`, up);
    },
    stop: async () => {
      await killChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a Redis Cluster of `masters` (default 3) masters and no replicas; resolves when it is ok. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-redis-cluster-"));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port);
    ports.push(port);
  }
  const children = ports.map((port) => spawnServer(port, dir, true));
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => killChild(c)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitFor(`cluster node on port ${port}`, () => ping(port));
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...ports.map((p) => `127.0.0.1:${p}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await waitFor(`cluster_state:ok on port ${port}`, async () => {
        const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"], { timeout: 2000 });
        return stdout.includes("cluster_state:ok");
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const node = (index: number): number => {
    const port = ports[index];
    if (port === undefined) throw new Error(`No cluster node ${index}; there are ${ports.length}.`);
    return port;
  };
  return {
    ports,
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    killNode: async (index) => {
      node(index);
      await killChild(children[index]!, "SIGKILL");
    },
    restartNode: async (index) => {
      const port = node(index);
      children[index] = spawnServer(port, dir, true);
      await waitFor(`cluster node on port ${port}`, () => ping(port));
      await waitFor(`cluster_state:ok after restarting ${port}`, async () => {
        const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"], { timeout: 2000 });
        return stdout.includes("cluster_state:ok");
      });
    },
    stop,
  };
}

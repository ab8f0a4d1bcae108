/**
 * A fleet of real `holdfast serve` processes on one shared store, for the chaos test: start,
 * SIGKILL and restart them. Each server gets a fixed loopback port so clients can keep a list.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/holdfast.js", import.meta.url));

export interface ServerSlot {
  port: number;
  url: string;
  child: ChildProcess | null;
  /** True once the server answered its health check. */
  ready: boolean;
  kills: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`server on ${url} exited with ${child.exitCode} during start-up`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server on ${url} did not become healthy within ${deadlineMs} ms`);
}

export class ServerFleet {
  readonly slots: ServerSlot[] = [];
  readonly #store: string;
  readonly #args: readonly string[];
  readonly #env: Readonly<Record<string, string>>;
  readonly #logs: string[] = [];

  /**
   * `args`: extra `holdfast serve` arguments, e.g. `["--config", file]`; `env`: extra environment
   * variables of the servers, e.g. `{ HOLDFAST_KEYS }`.
   */
  constructor(store: string, args: readonly string[] = [], env: Readonly<Record<string, string>> = {}) {
    this.#store = store;
    this.#args = args;
    this.#env = env;
  }

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      this.slots.push({ port, url: `http://127.0.0.1:${port}`, child: null, ready: false, kills: 0 });
    }
    await Promise.all(this.slots.map((slot) => this.#spawn(slot)));
  }

  async #spawn(slot: ServerSlot): Promise<void> {
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--port", String(slot.port), "--store", this.#store, ...this.#args],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, HOLDFAST_LOG_LEVEL: "warn", ...this.#env },
      },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#logs.push(chunk.toString());
      if (this.#logs.length > 200) this.#logs.shift();
    });
    slot.child = child;
    await waitHealthy(slot.url, child, 30_000);
    slot.ready = true;
  }

  readonly #restarts = new Set<Promise<void>>();

  /**
   * SIGKILLs a running server and (unless `restart` is false) starts it again on the same port in
   * the background, so the next kill can come while it boots. Returns the index killed, or -1.
   */
  async killOne(preferred: number, restart = true): Promise<number> {
    for (let k = 0; k < this.slots.length; k++) {
      const index = (preferred + k) % this.slots.length;
      const slot = this.slots[index]!;
      const child = slot.child;
      if (!child || child.exitCode !== null || !slot.ready) continue;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      slot.kills += 1;
      slot.child = null;
      slot.ready = false;
      if (!restart) return index;
      const restarting = this.#spawn(slot).finally(() => this.#restarts.delete(restarting));
      this.#restarts.add(restarting);
      return index;
    }
    return -1;
  }

  /** Waits for servers still booting after a kill. */
  async settle(): Promise<void> {
    await Promise.all(this.#restarts);
  }

  recentStderr(): string {
    return this.#logs.join("").slice(-4000);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

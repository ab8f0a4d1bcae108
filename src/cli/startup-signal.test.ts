/**
 * A SIGTERM or SIGINT while `holdfast serve` is still starting (the store connecting) is a clean
 * stop like any other: what was opened is closed and the process exits 0, instead of being killed
 * by the signal (exit 143) because the handlers came only after `listen`.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliResult, spawnCli } from "./cli-helpers.ts";

/** A TCP server that accepts connections and never answers: a database stuck at the handshake. */
async function silentServer(): Promise<{ server: Server; port: number; connected: Promise<Socket> }> {
  let accepted!: (socket: Socket) => void;
  const connected = new Promise<Socket>((resolve) => {
    accepted = resolve;
  });
  // Read (and drop) what the client sends, so its end of the connection is seen.
  const server = createServer((socket) => accepted(socket.resume()));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, connected };
}

/** Starts serve, signals it once the silent server saw its connection, and waits for the exit. */
async function signalDuringStartup(
  args: string[],
  signal: NodeJS.Signals,
  connected: Promise<Socket>,
): Promise<CliResult & { signal: NodeJS.Signals | null; socketClosed: boolean }> {
  const { child, output } = spawnCli(["serve", ...args]);
  const exited = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  const socket = await connected;
  const closed = once(socket, "close");
  child.kill(signal);
  // The connect timeout is a minute: an exit within 10 s is the signal's doing.
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const [code, by] = await exited;
  clearTimeout(timer);
  const socketClosed = await Promise.race([
    closed.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
  ]);
  return { code, signal: by, ...output(), socketClosed };
}

describe("serve: a signal during start-up", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-startup-signal-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("SIGTERM while the Postgres store connects: exit 0, the connection closed", async () => {
    const { server, port, connected } = await silentServer();
    try {
      const store = `postgres://postgres@127.0.0.1:${port}/test?connect_timeout_ms=60000`;
      const res = await signalDuringStartup(["--port", "0", "--store", store], "SIGTERM", connected);
      assert.equal(res.signal, null, `killed by ${res.signal}: ${res.stderr}`);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /holdfast stopped \(SIGTERM during start-up\)/);
      assert.doesNotMatch(res.stdout, /listening on/);
      assert.equal(res.socketClosed, true);
    } finally {
      server.close();
    }
  });

  test("SIGINT while the archive backend connects: exit 0, and no store file was created", async () => {
    const { server, port, connected } = await silentServer();
    try {
      const config = path.join(dir, "archive.json");
      const archiveUrl = `postgres://postgres@127.0.0.1:${port}/test`;
      await writeFile(
        config,
        JSON.stringify({ lifecycle: { archive: { backend: "postgres", url: archiveUrl } } }),
      );
      const db = path.join(dir, "store", "holdfast.db");
      const args = ["--port", "0", "--store", `sqlite:${db}`, "--config", config, "--log-level", "silent"];
      const res = await signalDuringStartup(args, "SIGINT", connected);
      assert.equal(res.signal, null, `killed by ${res.signal}: ${res.stderr}`);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, "", "silent");
      assert.equal(existsSync(path.dirname(db)), false);
    } finally {
      server.close();
    }
  });
});

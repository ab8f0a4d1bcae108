/**
 * A loopback proxy to Redis that can swallow replies (the commands still reach Redis and run)
 * and cut every open connection: a write whose answer is lost with its connection. Taken down,
 * it cuts and refuses every connection: one instance's Redis link is gone while Redis serves others.
 */
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

export interface ReplyEatingProxy {
  /** `redis://127.0.0.1:<port>/0`, through the proxy. */
  url: string;
  /** While on, replies are dropped; commands still reach Redis and run. */
  mute(on: boolean): void;
  /** Destroys every open connection (clients see their connection drop and reconnect). */
  cut(): void;
  /** While down, open connections are cut and new ones closed at once; up again, it forwards. */
  down(on: boolean): void;
  close(): Promise<void>;
}

export async function startReplyEatingProxy(target: string): Promise<ReplyEatingProxy> {
  const { hostname, port } = new globalThis.URL(target);
  const sockets = new Set<Socket>();
  let mute = false;
  let down = false;
  const server = createServer((inbound) => {
    if (down) {
      inbound.destroy();
      return;
    }
    const outbound = connect(Number(port || 6379), hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    inbound.on("data", (chunk) => outbound.write(chunk));
    outbound.on("data", (chunk) => {
      if (!mute) inbound.write(chunk);
    });
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}/0`,
    mute: (on: boolean) => {
      mute = on;
    },
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    down: (on: boolean) => {
      down = on;
      if (on) for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A loopback port nothing listens on right now, for the throw-away servers tests start as child
 * processes (Postgres, Redis): they take a port number, not a listening socket.
 */
import { createServer } from "node:net";

/** Binds port 0 on 127.0.0.1, reads the port the system gave, and frees it again. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

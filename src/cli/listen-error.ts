/**
 * A failed `listen` (serve, mock-upstream) as an error that says which flag to change, instead
 * of Node's bare `listen EADDRNOTAVAIL: address not available 10.0.0.9`.
 */
import { InvalidArgumentError } from "../store/errors.ts";

/** `env` names the variables behind --port and --host, when the command reads them. */
export function listenError(
  error: unknown,
  host: string,
  port: number,
  env?: { port: string; host: string },
): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const portFlag = env ? `--port or ${env.port}` : "--port";
  const hostFlag = env ? `--host or ${env.host}` : "--host";
  if (code === "EADDRINUSE") {
    // Another process holds it, but the fix is the caller's: another --port (exit 2, like EACCES).
    return new InvalidArgumentError(
      `Port ${port} on ${host} is already in use; pick another with ${portFlag} (0 picks a free one).`,
      { param: "port" },
    );
  }
  if (code === "EACCES") {
    return new InvalidArgumentError(
      `Not allowed to listen on port ${port} (EACCES); pick one above 1023 with ${portFlag}.`,
      { param: "port" },
    );
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new InvalidArgumentError(
      `Cannot listen on ${host} (${code}): not an address of this machine; pick another with ${hostFlag}.`,
      { param: "host" },
    );
  }
  return error;
}

/**
 * Test helper: a ServerConfig as tests hand it to `createHoldfastApp` directly (no flags, env or
 * file to load): on an ephemeral loopback port, silent, no config file.
 */
import type { ServerConfig } from "./load-config.ts";

export function testServerConfig(fields: Partial<ServerConfig> & { store: string }): ServerConfig {
  return {
    port: 0,
    host: "127.0.0.1",
    bodyLimit: 1 << 20,
    logLevel: "silent",
    configFile: null,
    file: {},
    ...fields,
  };
}

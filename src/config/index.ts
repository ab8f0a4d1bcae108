/** Configuration loading: flags > environment > config file > defaults. */
export {
  CONFIG_DEFAULTS,
  CONFIG_FILE_NAMES,
  CONFIG_SECTIONS,
  type ConfigFlags,
  type LoadConfigOptions,
  loadServerConfig,
  type ServerConfig,
} from "./load-config.ts";
export { LOG_LEVELS, type LogLevel, parseBytes, redactStoreUrl } from "./values.ts";

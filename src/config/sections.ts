/**
 * Names of config-file sections that more than one layer needs. A leaf module without imports,
 * so the provider layer can take its list from here without depending on the config loader.
 */

/** The top-level sections the provider layer reads (docs/providers.md, "Configuration"). */
export const PROVIDER_SECTIONS = [
  "providers",
  "models",
  "routes",
  // Provider defaults and the model no route names.
  "retry",
  "breaker",
  "defaultProvider",
] as const;

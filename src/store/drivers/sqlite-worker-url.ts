/**
 * Where a SQLite worker module lives, next to the module that starts it. From the sources the
 * sibling is `<name>.ts` (type stripping); from the compiled package it is `<name>.js`. The build
 * rewrites the extensions of import specifiers only, never of a string handed to `new URL`, so
 * the extension is taken from the calling module's own URL instead.
 */
export function siblingWorkerUrl(callerUrl: string, name: string): URL {
  const extension = new URL(callerUrl).pathname.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`./${name}${extension}`, callerUrl);
}

/**
 * Node 22 prints a stability notice on the first use of `node:sqlite` ("ExperimentalWarning: SQLite
 * is an experimental feature…"); Node 24 does not. The CLI uses it by design, and its stderr carries
 * its own messages and `--json` summaries that scripts read, so that notice is dropped. Every other
 * warning still prints (type stripping's, from the sources on Node 22, comes before this code runs).
 */
const NOTICES = ["SQLite is an experimental feature"];

/** Drops the notices above from `process.emitWarning`; returns a function restoring it (tests). */
export function quietStabilityNotices() {
  const emit = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type;
    const text = typeof warning === "string" ? warning : warning?.message;
    if (type === "ExperimentalWarning" && NOTICES.some((notice) => text?.startsWith(notice))) return;
    return emit.call(this, warning, ...rest);
  };
  return () => {
    process.emitWarning = emit;
  };
}

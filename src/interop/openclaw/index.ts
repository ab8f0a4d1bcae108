/** OpenClaw interop: parse transcripts, audit a state dir, import into a store, plan cleanup, export v3. */
export { ARTIFACT_CLASSES, type ArtifactClass, classifyFile, type LockInfo } from "./artifacts.ts";
export * from "./audit.ts";
export * from "./cleanup.ts";
export { convertPath } from "./convert.ts";
export * from "./export.ts";
export * from "./import.ts";
export { branchLabel, importedForkId, importedSessionId } from "./session-meta.ts";
export {
  findAgentDirs,
  keyKind,
  readSessionIndex,
  resolveTranscriptName,
  type SkippedPath,
  type StateDirScan,
  scanStateDir,
} from "./state-dir.ts";
export * from "./transcript.ts";
export { activePath, analyzeTranscript, type TranscriptAnalysis } from "./tree.ts";
export { type ImportWarning, type ImportWarningCode, WARNING_CODES } from "./warnings.ts";

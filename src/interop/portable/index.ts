/** The portable JSONL session format: export, import and the line-level writer/reader archives reuse. */
export * from "./compression.ts";
export * from "./export.ts";
export * from "./format.ts";
export * from "./import.ts";
export * from "./reader.ts";

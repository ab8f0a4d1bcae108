/** Holdfast as a library: durable, bounded, private sessions for AI agents. */
export * from "./store/index.ts";
export * from "./engine/context/index.ts";

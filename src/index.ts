/** Holdfast as a library: durable, bounded, private sessions for AI agents. */

export * from "./engine/context/index.ts";
export * from "./store/index.ts";

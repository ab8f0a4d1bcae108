/** Lifecycle: retention policies, the cleanup planner, the sweeper, archives and quotas. */
export * from "./action-log.ts";
export * from "./archive-backend.ts";
export * from "./archive-files.ts";
export * from "./archive-format.ts";
export * from "./archive-open.ts";
export * from "./archiver.ts";
export * from "./config.ts";
export * from "./plan-file.ts";
export * from "./plan-types.ts";
export * from "./planner.ts";
export * from "./policy.ts";
export * from "./quotas.ts";
export * from "./reset-schedule.ts";
export * from "./sweeper.ts";

import type { Command } from "commander";
import { registerBenchCommand } from "./bench.ts";
import { registerCleanupCommand } from "./cleanup.ts";
import { registerDoctorCommand } from "./doctor.ts";
import { registerKeysCommand } from "./keys.ts";
import { registerMigrateCommand } from "./migrate.ts";
import { registerMockUpstreamCommand } from "./mock-upstream.ts";
import { registerOpenClawCommand } from "./openclaw.ts";
import { registerServeCommand } from "./serve.ts";
import { registerSessionsCommand } from "./sessions.ts";
import { registerSessionsExportCommands } from "./sessions-export.ts";
import { registerSessionsManageCommands } from "./sessions-manage.ts";

/** Every CLI command registers itself on the root program. Add new commands to this list. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  registerServeCommand,
  registerSessionsCommand,
  registerSessionsExportCommands,
  registerSessionsManageCommands,
  registerMigrateCommand,
  registerDoctorCommand,
  registerBenchCommand,
  registerOpenClawCommand,
  registerMockUpstreamCommand,
  registerKeysCommand,
  registerCleanupCommand,
];

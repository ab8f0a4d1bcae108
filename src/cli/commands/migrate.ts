/**
 * `holdfast migrate --from <url> --to <url>`: copies every session of the given tenants, with
 * progress, verifies counts and checksums, and resumes after an interruption.
 */
import path from "node:path";
import { type Command, Option } from "commander";
import { loadServerConfig } from "../../config/load-config.ts";
import { checkMigrateTenants, migrate } from "../../interop/migrate.ts";
import { sqlitePath, storeScheme } from "../../store/create-store.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { archiveReader } from "../archive-reader.ts";
import { assertStoreExists, openStore } from "../store-flags.ts";
import { leftOutLine, progressLine, reportText } from "./migrate-report.ts";

interface MigrateFlags {
  from: string;
  to: string;
  tenant: string[];
  config?: string;
  archiveDir?: string;
  pruneDeleted?: boolean;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The same URL, or two spellings of one SQLite file (`sqlite:./a.db`, `sqlite:/abs/a.db`). */
function sameStore(from: string, to: string): boolean {
  if (from === to) return true;
  if (storeScheme(from) !== "sqlite:" || storeScheme(to) !== "sqlite:") return false;
  const [a, b] = [sqlitePath(from), sqlitePath(to)];
  return a !== ":memory:" && path.resolve(a) === path.resolve(b);
}

async function run(flags: MigrateFlags): Promise<void> {
  if (sameStore(flags.from, flags.to)) {
    throw new InvalidArgumentError("--from and --to name the same store.", { param: "to" });
  }
  assertStoreExists(flags.from, "--from");
  const tenants = flags.tenant.length > 0 ? flags.tenant : ["default"];
  // Before --to is opened: a refused run leaves no new store behind.
  checkMigrateTenants(tenants);
  // The source's archive backend, checked before any store is opened: sessions archived by the
  // lifecycle keep their items there.
  const { file } = await loadServerConfig({ flags: { config: flags.config }, env: process.env });
  const archives = archiveReader(file, flags.archiveDir);
  const source = await openStore(flags.from);
  try {
    const target = await openStore(flags.to);
    try {
      const tty = process.stderr.isTTY === true;
      // With --json and stderr not a terminal, stderr is kept for the one JSON error line (as
      // cleanup's and export's progress): the report lists the sessions left out.
      const quiet = flags.json === true && !tty;
      const report = await migrate(source, target, {
        tenants,
        readArchive: (tenant, id) => archives.read(tenant, id),
        pruneDeleted: flags.pruneDeleted === true,
        onProgress: (p) => {
          if (quiet) return;
          // A session left out is said at once, on a line of its own (the count comes at the end).
          if (p.leftOut) {
            process.stderr.write(
              `${tty ? "\r\x1b[K" : ""}${leftOutLine(p.tenant, p.sessionId, p.leftOut)}\n`,
            );
            return;
          }
          const line = progressLine(p);
          if (tty) process.stderr.write(`\r${line}`);
          else if (p.sessions % 100 === 0) process.stderr.write(`${line}\n`);
        },
      });
      if (tty) process.stderr.write("\n");
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : reportText(report));
      if (report.mismatches.length > 0) process.exitCode = 1;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
    await archives.close();
  }
}

export function registerMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description(
      "Copy every session from one store to another, verified by counts and checksums; safe to re-run.",
    )
    .requiredOption("--from <url>", "source store URL")
    .requiredOption("--to <url>", "target store URL")
    .addOption(
      new Option("-t, --tenant <tenant>", "tenant to copy (repeatable)")
        .argParser(collect)
        .default([], "default"),
    )
    .option(
      "-c, --config <file>",
      "JSON or YAML config file whose lifecycle.archive holds the source's archived sessions (env HOLDFAST_CONFIG)",
    )
    .option(
      "--archive-dir <dir>",
      "read archived sessions from this directory instead of the configured lifecycle.archive (default ./data/archives)",
    )
    .option(
      "--prune-deleted",
      "remove from the target's copies the items the source deleted after they were copied (off: they stay, and the session is a mismatch naming them)",
    )
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Sessions keep their ids; items are appended in pages under deterministic operation ids, so an
interrupted migration resumes where it stopped when run again. A session that expires before
the target holds it, or is deleted or expires while its items are copied, is left out and
reported (its partial copy removed from the target), and the others are still copied. An item
the source deleted after it was copied stays in the copy and makes the session a mismatch naming
it: it cannot be told apart from an item written to the target since. With --prune-deleted it is
removed from the copy and reported (not a mismatch). Sessions
the lifecycle archived keep their items in the archive backend (lifecycle.archive in --config):
they are read from there and copied as archived sessions holding their items; one whose archive
cannot be read is reported.
Exit 1 if verification fails; a session left out is not a failure.
Progress goes to stderr (every 100 sessions when it is not a terminal); with --json only on a
terminal, so a failure leaves stderr the one JSON error line.

Examples:
  $ holdfast migrate --from sqlite:./data/holdfast.db --to postgres://postgres@127.0.0.1/test
  $ holdfast migrate --from sqlite:a.db --to redis://127.0.0.1:6379 --tenant acme --tenant globex --json
  $ holdfast migrate --from sqlite:a.db --to postgres://postgres@127.0.0.1/test --prune-deleted`,
    )
    .action(run);
}

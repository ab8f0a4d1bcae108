/**
 * `holdfast sessions export|import`: the portable JSONL format on the command line. Registered
 * as subcommands of the `sessions` command (created here if no other module made it).
 */

import { createReadStream, statSync } from "node:fs";
import type { Command } from "commander";
import { loadServerConfig } from "../../config/load-config.ts";
import {
  type ConflictPolicy,
  exportSessions,
  importSessions,
  type PortableProgress,
} from "../../interop/portable/index.ts";
import { encryptedSessionCheck, refuseKeylessWrites } from "../../security/at-rest.ts";
import { InvalidArgumentError, isHoldfastError } from "../../store/errors.ts";
import type { SessionStore } from "../../store/types.ts";
import { archiveReader } from "../archive-reader.ts";
import { withFlagNames, withMessage } from "../flag-values.ts";
import { interruptible } from "../interrupt.ts";
import { writeOutputFile } from "../output-file.ts";
import { openArchived, storeOptions, withContentStore } from "../store-flags.ts";
import { bytes } from "./openclaw.ts";
import { sessionsGroup } from "./sessions.ts";

interface ExportFlags {
  store?: string;
  config?: string;
  tenant: string;
  out: string;
  ids?: string;
  owner?: string;
  label?: string;
  archiveDir?: string;
  json?: boolean;
}

interface ImportFlags {
  store?: string;
  config?: string;
  tenant: string;
  onConflict: string;
  json?: boolean;
}

/** Progress on stderr, only on a terminal, at most every 200 ms. */
function progressPrinter(verb: string): { tick: (p: PortableProgress) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    tick: (p) => {
      const now = Date.now();
      if (!tty || now - last < 200) return;
      last = now;
      process.stderr.write(
        `\r\x1b[K${verb}… ${p.sessions} session(s), ${p.items} item(s), ${bytes(p.bytes)}`,
      );
    },
    done: () => {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}

/** `--ids a,b`: at least one id (`--ids ,` would pass for a backup of nothing). */
function idsFlag(value: string): string[] {
  const ids = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0) {
    throw new InvalidArgumentError(`--ids must name at least one session id (got '${value}').`, {
      param: "ids",
    });
  }
  return ids;
}

/**
 * Every `--ids` session is a well-formed id that exists, checked before anything is written: the
 * store's error then names the flag the user typed (`param: "ids"`), not the API's `session_id`.
 */
async function checkIds(store: SessionStore, tenant: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    try {
      await store.get(tenant, id);
    } catch (error) {
      throw isHoldfastError(error) && error.param === "session_id"
        ? withMessage(error, error.message, "ids")
        : error;
    }
  }
}

export function registerSessionsExportCommands(program: Command): void {
  const sessions = sessionsGroup(program);

  storeOptions(
    sessions
      .command("export")
      .description("Stream sessions to the portable JSONL format (manifest, sessions, items, trailer)."),
  )
    .option("-o, --out <file>", "output file, or - for stdout", "-")
    .option("--ids <ids>", "comma-separated session ids (default: every session of the tenant)")
    .option("--owner <owner>", "only sessions of this owner")
    .option("--label <label>", "only sessions carrying this label")
    .option(
      "--archive-dir <dir>",
      "read archived sessions from this directory instead of the configured lifecycle.archive (default ./data/archives)",
    )
    .option("--json", "print a JSON summary (to stderr when the export goes to stdout)")
    .addHelpText(
      "after",
      "\nSessions the lifecycle archived are exported with their items, read from the archive backend the\nconfig's lifecycle.archive names (or --archive-dir); one whose archive cannot be read fails the export.\nWithout the keyring, a selection holding an encrypted session exits 2 before anything is written.\nCtrl-C removes the unfinished --out file (exit 130).\n\nExamples:\n  $ holdfast sessions export --store sqlite:./data/holdfast.db --out backup.jsonl\n  $ holdfast sessions export --ids conv_a…,conv_b… > two.jsonl",
    )
    .action(async (flags: ExportFlags) => {
      const selection =
        flags.ids === undefined
          ? { filter: { owner: flags.owner, label: flags.label } }
          : { ids: idsFlag(flags.ids) };
      const progress = progressPrinter("exporting");
      // Archived sessions' items are in the archive backend: a backup without them would lose them.
      const { file } = await loadServerConfig({ flags: { config: flags.config }, env: process.env });
      const archives = archiveReader(file, flags.archiveDir);
      // A mistyped SQLite path must not pass for an empty store and give an empty backup.
      const summary = await withContentStore(
        flags,
        async (store) => {
          if (selection.ids) await checkIds(store, flags.tenant, selection.ids);
          const options = {
            onProgress: progress.tick,
            readArchive: async (tenant: string, id: string) =>
              openArchived(store, tenant, id, await archives.read(tenant, id)),
            // Without the keys, an encrypted session anywhere in the selection is refused before
            // the first byte: on stdout, the sessions before it would pass for an export.
            preflight: await encryptedSessionCheck(store),
          };
          if (flags.out === "-")
            return exportSessions(store, flags.tenant, selection, process.stdout, options);
          // Ctrl-C removes the unfinished file (exit 130); to stdout, the default stop is fine.
          return interruptible(
            (signal) =>
              writeOutputFile(
                flags.out,
                (out) => exportSessions(store, flags.tenant, selection, out, options),
                signal,
              ),
            () => `no file was written (--out '${flags.out}')`,
          );
        },
        { mustExist: true },
      ).finally(() => archives.close());
      progress.done();
      const text = flags.json
        ? `${JSON.stringify(summary, null, 2)}\n`
        : `exported ${summary.sessions} session(s), ${summary.items} item(s), ${bytes(summary.bytes)}; sha256 ${summary.sha256}\n`;
      (flags.out === "-" ? process.stderr : process.stdout).write(text);
    });

  storeOptions(
    sessions
      .command("import <file>")
      .description(
        "Import a portable JSONL export, plain or gzip/zstd-compressed (verifies every checksum; - reads stdin).",
      ),
  )
    .option("--on-conflict <policy>", "when a session id exists: skip or fail", "fail")
    .option("--json", "print a JSON summary")
    .addHelpText(
      "after",
      "\nWithout the keyring, an import into a store that holds encrypted sessions exits 2 before writing\nanything (its sessions would be stored in plaintext). A file holding content sealed by encryption at rest\n(an export made without the keys by an older Holdfast) exits 2 naming the line, keys or not.\nCtrl-C stops before the next append and deletes the session being written; the ones before it stay (exit 130).\n\nExamples:\n  $ holdfast sessions import backup.jsonl --store postgres://localhost/holdfast\n  $ holdfast sessions import backup.jsonl.gz --on-conflict skip --json",
    )
    .action(async (file: string, flags: ImportFlags) => {
      if (flags.onConflict !== "skip" && flags.onConflict !== "fail") {
        throw new InvalidArgumentError(`--on-conflict must be skip or fail (got '${flags.onConflict}').`, {
          param: "on-conflict",
        });
      }
      // A directory is refused too; a pipe (`<(gunzip -c backup.jsonl.gz)`) is fine.
      const stat = file === "-" ? undefined : statSync(file, { throwIfNoEntry: false });
      if (file !== "-" && (stat === undefined || stat.isDirectory())) {
        throw new InvalidArgumentError(
          `${stat ? `'${file}' is a directory` : `No file '${file}'`}: pass an export written by 'holdfast sessions export', or - for stdin.`,
          { param: "file" },
        );
      }
      const input = file === "-" ? process.stdin : createReadStream(file);
      const progress = progressPrinter("importing");
      let imported = 0;
      // Ctrl-C stops at the next append, removing the session it was writing (exit 130).
      const stopped = (): string =>
        `${imported === 0 ? "nothing was imported" : `${imported} session(s) were imported and stay`}, none partly; ` +
        "run it again with --on-conflict skip to import the rest";
      const summary = await withFlagNames({ 'onConflict "skip"': "--on-conflict skip" }, () =>
        withContentStore(flags, async (store) => {
          // Without the keys, a store that encrypts gets no plaintext session: refused before reading.
          await refuseKeylessWrites(store);
          return interruptible(
            (signal) =>
              importSessions(store, flags.tenant, input, {
                onConflict: flags.onConflict as ConflictPolicy,
                onProgress: (p) => {
                  imported = p.sessions;
                  progress.tick(p);
                },
                signal,
                // Ciphertext (an old keyless export) would be stored as content, sealed again with keys.
                sealed: "refuse",
                // A regular file is read twice: a conflict (with --on-conflict fail) or sealed content
                // anywhere in it then imports nothing.
                ...(stat?.isFile() ? { reopen: () => createReadStream(file) } : {}),
              }),
            stopped,
          );
        }),
      ).finally(() => progress.done());
      if (flags.json)
        process.stdout.write(`${JSON.stringify({ ...summary, manifest: summary.manifest }, null, 2)}\n`);
      else
        process.stdout.write(
          `imported ${summary.imported} session(s) with ${summary.items} item(s); skipped ${summary.skipped} existing` +
            (summary.expiredIds.length > 0 ? `; left out ${summary.expiredIds.length} already expired` : "") +
            "\n",
        );
    });
}

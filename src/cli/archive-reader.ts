/**
 * Reads the archives of sessions the lifecycle archiver turned into stubs, for commands that copy
 * a store (`migrate`, `sessions export`): a stub's items are in the archive backend, not in the
 * store, and a copy without them would lose them silently. The backend is the config's
 * `lifecycle.archive` (or `--archive-dir`), validated now and opened on the first stub only
 * (opening a table backend creates its file or table).
 */
import type { PortableSessionBlock } from "../interop/portable/reader.ts";
import type { ArchiveBackend } from "../lifecycle/archive-backend.ts";
import { openArchiveBackend } from "../lifecycle/archive-open.ts";
import { type ArchiveSettings, parseLifecycleConfig } from "../lifecycle/config.ts";
import { isHoldfastError, NotFoundError } from "../store/errors.ts";

export interface ArchiveReader {
  read(tenant: string, id: string): Promise<PortableSessionBlock>;
  close(): Promise<void>;
}

/** `file` is the parsed config file; `archiveDir` replaces its `lifecycle.archive` by a directory. */
export function archiveReader(file: Record<string, unknown>, archiveDir?: string): ArchiveReader {
  const configured = parseLifecycleConfig(file.lifecycle).archive;
  const settings: ArchiveSettings = archiveDir
    ? { ...configured, backend: "dir", dir: archiveDir, url: null }
    : configured;
  let opened: Promise<ArchiveBackend> | null = null;
  return {
    read(tenant, id) {
      opened ??= openArchiveBackend(settings).then((o) => o.backend);
      return opened.then((backend) =>
        backend.read(tenant, id).catch((error: unknown) => {
          if (!isHoldfastError(error) || error.code !== "not_found") throw error;
          throw new NotFoundError(
            `Session '${id}' was archived by the lifecycle, but ${backend.location} holds no archive of it; name the lifecycle.archive that does (--config, or --archive-dir).`,
            { param: "archive-dir", cause: error },
          );
        }),
      );
    },
    async close() {
      if (opened) await (await opened.catch(() => null))?.close();
    },
  };
}

/**
 * Symbolic links in an OpenClaw state dir are followed only while they stay inside it. A link
 * that leads out (an agent dir, a sessions dir, an index or a transcript pointing at another
 * user's files, or at anything an import should not read and copy into a store) is not followed
 * and is reported instead; a link to nothing is reported as missing, naming where it points.
 */
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { sep } from "node:path";

export type PathCheck =
  /** The path exists and, links resolved, lies inside the state dir (or could not be resolved: its reader will say why). */
  | { kind: "inside" }
  /** Nothing there, or a link to nothing. */
  | { kind: "missing"; problem: string }
  /** It resolves to a place outside the state dir. */
  | { kind: "outside"; problem: string };

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** The state dir with its own links resolved, what every path is compared with. */
export function realStateDir(stateDir: string): string {
  return realpathSync(stateDir);
}

/** Where `path` leads, as seen from the state dir whose real path is `root`; `label` names it in problems. */
export function checkInside(root: string, path: string, label: string): PathCheck {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    const code = errorCode(error);
    if (code !== "ENOENT" && code !== "ENOTDIR") return { kind: "inside" };
    try {
      if (lstatSync(path).isSymbolicLink())
        return {
          kind: "missing",
          problem: `${label} is a symbolic link to ${readlinkSync(path)}, which does not exist`,
        };
    } catch {
      // Not there at all.
    }
    return { kind: "missing", problem: `${label} not found` };
  }
  if (real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`))
    return { kind: "inside" };
  return {
    kind: "outside",
    problem: `${label} leads to ${real} through a symbolic link, outside the state directory; not followed`,
  };
}

/**
 * The text `holdfast migrate` prints: the progress line on stderr, the line for a session left
 * out as it happens, and the report on stdout (`--json` prints the report object instead).
 */
import type { MigrateProgress, MigrateReport } from "../../interop/migrate.ts";

export function progressLine(p: MigrateProgress): string {
  return `migrating ${p.tenant}: ${p.sessions} sessions, ${p.items} items copied`;
}

/** Said when it happens (stderr) and again in the report (stdout). */
export function leftOutLine(tenant: string, sessionId: string, why: "expired" | "vanished"): string {
  return why === "expired"
    ? `left out ${tenant}/${sessionId}: expired during the migration`
    : `left out ${tenant}/${sessionId}: deleted or expired while its items were copied; its partial copy was removed`;
}

function deletedCount(report: MigrateReport): number {
  return report.deletedInSource.reduce((n, d) => n + d.itemIds.length, 0);
}

export function reportText(report: MigrateReport): string {
  const lines = [
    `migrated ${report.sessions} sessions (${report.skipped} already complete) and ${report.items} items across ${report.tenants} tenant(s)` +
      (report.expired.length > 0 ? `; left out ${report.expired.length} already expired` : "") +
      (report.vanished.length > 0
        ? `; left out ${report.vanished.length} deleted or expired while being copied`
        : "") +
      (report.deletedInSource.length > 0
        ? `; ${deletedCount(report)} item(s) deleted in the source after being copied, removed from the copy`
        : "") +
      `; verified: ${report.mismatches.length === 0 ? "all equal" : `${report.mismatches.length} mismatch(es)`}`,
    ...report.expired.map((e) => leftOutLine(e.tenant, e.sessionId, "expired")),
    ...report.vanished.map((v) => leftOutLine(v.tenant, v.sessionId, "vanished")),
    ...report.deletedInSource.map(
      (d) =>
        `deleted in the source ${d.tenant}/${d.sessionId}: ${d.itemIds.join(", ")} (after being copied; removed from the copy too)`,
    ),
    ...report.mismatches.map((m) => `mismatch ${m.tenant}/${m.sessionId}: ${m.reason}`),
  ];
  return `${lines.join("\n")}\n`;
}

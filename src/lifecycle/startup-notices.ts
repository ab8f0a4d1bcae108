/**
 * Start-up notices about the lifecycle configuration that are legal but probably not what the
 * operator wants; `holdfast serve` prints them to stderr.
 */
import type { StoreDriver } from "../store/driver.ts";
import type { LifecycleConfig } from "./config.ts";

/** A driver whose storage also expires sessions by itself (Redis), this long after their deadline. */
interface NativeExpiry {
  readonly nativeExpiryGraceMs: number;
}

function hasNativeExpiry(driver: StoreDriver): driver is StoreDriver & NativeExpiry {
  return typeof (driver as Partial<NativeExpiry>).nativeExpiryGraceMs === "number";
}

function archivesOnExpiry(config: LifecycleConfig): boolean {
  const { defaults, tenants } = config.policy;
  return defaults.onExpiry === "archive" || Object.values(tenants).some((t) => t.onExpiry === "archive");
}

export function lifecycleNotices(driver: StoreDriver, config: LifecycleConfig): string[] {
  const notices: string[] = [];
  if (hasNativeExpiry(driver) && archivesOnExpiry(config)) {
    const grace = driver.nativeExpiryGraceMs;
    const interval = config.sweeper.intervalMs;
    if (grace < interval) {
      notices.push(
        `the ${driver.name} store removes expired sessions itself ${grace} ms after they expire, before the sweeper (every ${interval} ms) can archive them (on_expiry: archive); add ?expiry_grace_ms=${2 * interval} to the store URL to archive them all.`,
      );
    }
  }
  return notices;
}

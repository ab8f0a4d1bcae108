/** A tiny tenant registry kept in system records (`_hf_tenant`). */
import { ConflictError, InvalidArgumentError, isHoldfastError, NotFoundError } from "../store/errors.ts";
import { checkTenant } from "../store/validate.ts";
import { isReservedTenant, type SystemRecords } from "./system-records.ts";

const KIND = "tenant";

export interface Tenant {
  name: string;
  displayName: string | null;
  createdAt: number;
}

export interface TenantRegistry {
  create(name: string, options?: { displayName?: string }): Promise<Tenant>;
  get(name: string): Promise<Tenant>;
  list(): Promise<Tenant[]>;
}

/** Validates a user-facing tenant name: the store's format, and not a reserved `_hf*` name. */
export function checkTenantName(name: unknown): string {
  const tenant = checkTenant(name);
  if (isReservedTenant(tenant)) {
    throw new InvalidArgumentError("Tenant names starting with '_hf' are reserved for Holdfast.", {
      param: "tenant",
    });
  }
  return tenant;
}

/** The registry over system records (`createSystemRecords(store)`). */
export function createTenantRegistry(
  records: SystemRecords,
  options: { clock?: () => number } = {},
): TenantRegistry {
  const clock = options.clock ?? Date.now;
  return Object.freeze({
    async create(name: string, opts: { displayName?: string } = {}): Promise<Tenant> {
      const tenant: Tenant = {
        name: checkTenantName(name),
        displayName: opts.displayName ?? null,
        createdAt: clock(),
      };
      try {
        await records.create(KIND, tenant.name, tenant);
      } catch (error) {
        if (isHoldfastError(error) && error.code === "conflict") {
          throw new ConflictError(`Tenant '${tenant.name}' already exists.`, { param: "tenant" });
        }
        throw error;
      }
      return tenant;
    },
    async get(name: string): Promise<Tenant> {
      const record = await records.get<Tenant>(KIND, checkTenant(name));
      if (!record) throw new NotFoundError(`No tenant named '${name}'.`, { param: "tenant" });
      return record.data;
    },
    async list(): Promise<Tenant[]> {
      const out: Tenant[] = [];
      for await (const record of records.list<Tenant>(KIND)) out.push(record.data);
      return out;
    },
  });
}

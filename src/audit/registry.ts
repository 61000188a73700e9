/**
 * Audit stores by URI scheme. A backend is one line at the bottom of this file (or one
 * `registerAuditStore` call in src/app); `createAuditStore` picks it from the URI.
 */
import { CustosError } from '../kernel/index.js';
import { createPostgresAuditStore } from './postgres-store.js';
import { createSqliteAuditStore } from './sqlite-store.js';
import type { AuditStoreAdmin, AuditStoreFactory, AuditStoreOptions } from './types.js';

const factories = new Map<string, AuditStoreFactory>();
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;

/** Registers (or replaces) the factory for a URI scheme such as `sqlite` or `postgres`. */
export function registerAuditStore(scheme: string, factory: AuditStoreFactory): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new TypeError('registerAuditStore: scheme must be a lowercase URI scheme');
  factories.set(scheme, factory);
}

/** The schemes `createAuditStore` accepts, sorted. */
export function listAuditStoreSchemes(): string[] {
  return [...factories.keys()].sort();
}

/**
 * Opens the store a URI names: `sqlite:PATH` (relative to the working directory,
 * `sqlite::memory:` for tests), or any registered scheme. The URI is never echoed in
 * errors: a database URL may carry a password.
 */
export async function createAuditStore(uri: string, options: AuditStoreOptions = {}): Promise<AuditStoreAdmin> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  const factory = scheme === undefined ? undefined : factories.get(scheme);
  if (!factory) {
    const accepted = listAuditStoreSchemes();
    throw new CustosError('ERR_AUDIT_STORE_INVALID', `Unknown audit store scheme; accepted schemes: ${accepted.join(', ')}.`, {
      detail: { accepted },
    });
  }
  const busy = options.busyTimeoutMs;
  if (busy !== undefined && (!Number.isInteger(busy) || busy < 0 || busy > MAX_BUSY_TIMEOUT_MS)) {
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'busyTimeoutMs must be a non-negative integer.');
  }
  return factory(uri, options);
}

// Built-in backends: one line each.
registerAuditStore('sqlite', createSqliteAuditStore);
registerAuditStore('postgres', createPostgresAuditStore);
registerAuditStore('postgresql', createPostgresAuditStore);

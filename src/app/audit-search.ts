/**
 * `GET /v1/audit` over the trail: search through the search index (src/audit/search-index*.ts)
 * and the accounting of disclosures. The index of an SQLite trail is a file beside it; of a
 * PostgreSQL trail, tables beside it (migrations 4 and 5); an in-memory trail is searched by a
 * scan. Terms are keyed with the registry's `hmac` key `audit.search.indexKey`. Each process runs
 * an indexer following the head in the background; on PostgreSQL only the one holding the
 * indexer's advisory lock indexes. The accounting of disclosures reads through the index too.
 */
import {
  accountDisclosures,
  createPostgresSearchIndex,
  createSearchIndex,
  createSqliteSearchIndex,
  parseSqliteLocation,
  searchTrail,
  sqliteSearchIndexPath,
  toTrailReadError,
} from '../audit/index.js';
import type { AuditStoreAdmin, SearchIndexBackend } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import type { KeyRegistry } from '../keys/index.js';
import type { AuditSearchPort } from '../gateway/index.js';
import { CustosError } from '../kernel/index.js';
import type { AuditStore } from '../kernel/index.js';
import type { Logger } from './logger.js';

const rethrowRead = (err: unknown): never => {
  throw toTrailReadError(err);
};

/** The index's backend for a trail URI, or undefined (an in-memory trail). */
export function searchIndexBackendFor(uri: string): SearchIndexBackend | undefined {
  if (/^postgres(ql)?:\/\//i.test(uri)) return createPostgresSearchIndex(uri);
  if (/^sqlite:/i.test(uri)) {
    const location = parseSqliteLocation(uri);
    return location === ':memory:' ? undefined : createSqliteSearchIndex(sqliteSearchIndexPath(location));
  }
  return undefined;
}

export function createAuditSearch(
  config: ResolvedConfig,
  store: AuditStoreAdmin,
  logger: Logger,
  keys: Pick<KeyRegistry, 'hmacKey'>,
): {
  readonly port: AuditSearchPort;
  /** The store with each row it appends offered to the indexer, which then need not read it back. */
  feeding(store: AuditStore): AuditStore;
  close(): Promise<void>;
} {
  const settings = config.audit.search;
  const key = settings.indexKey === undefined ? undefined : keys.hmacKey(settings.indexKey);
  const backend = searchIndexBackendFor(config.audit.store);
  const index = backend
    ? createSearchIndex(store, backend, {
        ...(key ? { key } : {}),
        onError: (err) => logger.warn({ code: (err as { code?: string }).code }, 'audit search index not updated; retried'),
      })
    : undefined;
  index?.start();
  return {
    port: {
      roles: settings.roles,
      // A trail whose store is down answers 503 ERR_AUDIT_UNAVAILABLE naming audit.store, not a 500.
      search: (query, page) => (index ? index.search(query, page) : searchTrail(store, query, page)).catch(rethrowRead),
      disclosures: async (patient, range) => {
        if (settings.patientPaths.length === 0)
          throw new CustosError('ERR_GATEWAY_CONFLICT', "The accounting of disclosures needs audit.search.patientPaths (where a patient's records live).");
        const options = { pathTemplates: settings.patientPaths, ...range };
        return (index ? index.disclosures(patient, options) : accountDisclosures(store, patient, options)).catch(rethrowRead);
      },
    },
    feeding: (inner) =>
      index
        ? {
            append: async (entry, options) => {
              const record = await inner.append(entry, options);
              index.offer(record);
              return record;
            },
            read: (options) => inner.read(options),
            close: () => inner.close(),
          }
        : inner,
    close: async () => index?.close(),
  };
}

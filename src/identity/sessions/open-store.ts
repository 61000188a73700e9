/** Opens the session store a location names: `sqlite:PATH` or a `postgres://` URL. */
import { CustosError } from '../../kernel/index.js';
import { openPostgresSessionStore } from './postgres-store.js';
import { openSqliteSessionStore } from './sqlite-store.js';
import type { SessionStore } from './types.js';

export async function openSessionStore(location: string, options: { busyTimeoutMs?: number } = {}): Promise<SessionStore> {
  if (location.startsWith('sqlite:')) return openSqliteSessionStore(location.slice('sqlite:'.length), options);
  if (/^postgres(ql)?:\/\//.test(location)) return openPostgresSessionStore(location);
  throw new CustosError('ERR_CONFIG_INVALID', 'identity.sessions.store must be sqlite:PATH or a postgres:// URL.');
}

/** The default session store beside the audit store: `audit.sqlite` → `audit.sessions.sqlite`; PostgreSQL shares the database. */
export function deriveSessionStoreLocation(auditStore: string): string {
  if (!auditStore.startsWith('sqlite:')) return auditStore;
  const file = auditStore.slice('sqlite:'.length);
  return `sqlite:${file.replace(/(\.sqlite3?|\.db)?$/, '.sessions.sqlite')}`;
}

/** Opens the session store a location names: `sqlite:PATH` or a `postgres://` URL. */
import { CustosError } from '../../kernel/index.js';
import { openPostgresSessionStore } from './postgres-store.js';
import { openSqliteSessionStore } from './sqlite-store.js';
import { failClosedSessionStore } from './fail-closed-store.js';
import { sealSessionStore } from './sealed-store.js';
import type { SessionKeys } from './sealed-store.js';
import type { SessionMeta, SessionStore } from './types.js';

/** `keys`: the registry's record keys (`audit.encryption.key` active): the identifiers are stored sealed (sealed-store.ts). */
export async function openSessionStore(location: string, options: { busyTimeoutMs?: number; keys?: SessionKeys } = {}): Promise<SessionStore> {
  let inner: SessionStore & SessionMeta;
  if (location.startsWith('sqlite:')) inner = openSqliteSessionStore(location.slice('sqlite:'.length), options);
  else if (/^postgres(ql)?:\/\//.test(location)) inner = await openPostgresSessionStore(location, options);
  else throw new CustosError('ERR_CONFIG_INVALID', 'identity.sessions.store must be sqlite:PATH or a postgres:// URL.');
  try {
    return failClosedSessionStore(await sealSessionStore(inner, options.keys));
  } catch (err) {
    await inner.close();
    throw err;
  }
}

/** The default session store beside the audit store: `audit.sqlite` → `audit.sessions.sqlite`; PostgreSQL shares the database. */
export function deriveSessionStoreLocation(auditStore: string): string {
  if (!auditStore.startsWith('sqlite:')) return auditStore;
  const file = auditStore.slice('sqlite:'.length);
  return `sqlite:${file.replace(/(\.sqlite3?|\.db)?$/, '.sessions.sqlite')}`;
}

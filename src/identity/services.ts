/** One call for the composition root: the session store and every room built on it (sessions, background grants, emergency access). */
import type { Clock, IdSource, McpSessionStore, RevocationFeed, SessionGuard, Tier } from '../kernel/index.js';
import { createStoreGrantRegistry } from './delegation/index.js';
import type { GrantRegistry } from './delegation/index.js';
import { createEmergencyAccess } from './emergency/index.js';
import type { EmergencyAccess } from './emergency/index.js';
import { checkSessionStore, createLogoutVerifier, createRevocationFeed, createSessionGuard, openSessionStore } from './sessions/index.js';
import type { LogoutIssuer, LogoutVerifier, SessionAdmin, SessionKeys, SessionStore, SessionStoreReadiness } from './sessions/index.js';

/** How long readiness waits for the session store's probe read. */
const READINESS_TIMEOUT_MS = 1000;

export interface IdentityServicesOptions {
  /** `sqlite:PATH` (absolute) or a `postgres://` URL. */
  readonly store: string;
  readonly busyTimeoutMs?: number;
  /** The key registry's record keys: with one active (audit.encryption.key), the store's identifiers are sealed. */
  readonly keys?: SessionKeys;
  readonly issuers: readonly LogoutIssuer[];
  readonly idleTimeoutSec: Partial<Record<Tier, number>>;
  readonly adminRoles: readonly string[];
  readonly emergency: { readonly roles: readonly string[]; readonly reviewerRoles: readonly string[]; readonly grantTtlSec: number };
  readonly clock: Clock;
  readonly ids: IdSource;
}

export interface IdentityServicesBundle {
  readonly store: SessionStore;
  readonly sessions: SessionGuard;
  readonly admin: SessionAdmin & { readonly roles: readonly string[] };
  readonly logout: LogoutVerifier;
  /** Revocations as they happen (hand to the gateway: it ends the revoked user's MCP sessions). */
  readonly revocations: RevocationFeed;
  readonly emergency: EmergencyAccess;
  /** MCP session state on the same store (hand to the gateway: any replica continues any session). */
  readonly mcpSessions: McpSessionStore;
  /** Background grants, persisted in the same store (hand to createDelegation). */
  readonly backgroundGrants: GrantRegistry;
  /** For `/readyz`: one bounded read of the store (hand to the gateway's readiness checks). */
  readiness(): Promise<SessionStoreReadiness>;
  close(): Promise<void>;
}

export async function createIdentityServices(options: IdentityServicesOptions): Promise<IdentityServicesBundle> {
  const store = await openSessionStore(options.store, { busyTimeoutMs: options.busyTimeoutMs, keys: options.keys });
  const guard = createSessionGuard({ store, clock: options.clock, idleTimeoutSec: options.idleTimeoutSec });
  return {
    store,
    sessions: guard,
    admin: { revokeSession: guard.revokeSession, revokeUser: guard.revokeUser, roles: options.adminRoles },
    logout: createLogoutVerifier({ issuers: options.issuers, store, now: () => options.clock.now().getTime() }),
    revocations: createRevocationFeed(store),
    emergency: createEmergencyAccess({ store, clock: options.clock, ids: options.ids, ...options.emergency }),
    mcpSessions: { put: (r, purge) => store.putMcpSession(r, purge), get: (id) => store.getMcpSession(id), remove: (id) => store.removeMcpSession(id) },
    backgroundGrants: createStoreGrantRegistry(store, { clock: () => options.clock.now().getTime() }),
    readiness: () => checkSessionStore(store, READINESS_TIMEOUT_MS),
    close: () => store.close(),
  };
}

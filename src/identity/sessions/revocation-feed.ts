/**
 * Revocations as they happen (the kernel's RevocationFeed): the stores announce each one
 * (`revocationListeners`), and `revocationSince` answers, for a long-lived MCP session, whether
 * a revocation has ended it since it opened (the check for a session that missed the announcement:
 * another process on the same SQLite file, a PostgreSQL listener that was down).
 */
import type { Revocation, RevocationFeed } from '../../kernel/index.js';
import type { SessionStore } from './types.js';

export interface RevocationListeners {
  add(listener: (revocation: Revocation) => void): () => void;
  emit(revocation: Revocation): void;
}

/** The listener set a store announces its revocations to; a throwing listener does not stop the others. */
export function revocationListeners(): RevocationListeners {
  const listeners = new Set<(revocation: Revocation) => void>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(revocation) {
      for (const listener of [...listeners]) {
        try {
          listener(revocation);
        } catch {
          // a listener's failure is its own; the revocation is stored either way
        }
      }
    },
  };
}

export function createRevocationFeed(store: SessionStore): RevocationFeed {
  return {
    onRevoked: (listener) => store.onRevoked(listener),
    async revocationSince(who, sinceMs) {
      for (const sid of who.sessionIds) {
        const { sessionRevokedAt } = await store.revocation(who.iss, who.sub, sid);
        if (sessionRevokedAt !== undefined) return { iss: who.iss, sid, atMs: sessionRevokedAt };
      }
      const { userRevokedAt } = await store.revocation(who.iss, who.sub, undefined);
      return userRevokedAt !== undefined && userRevokedAt >= sinceMs ? { iss: who.iss, sub: who.sub, atMs: userRevokedAt } : undefined;
    },
  };
}

/**
 * Readiness of the session store: one small read (a revocation lookup no user has), bounded by a
 * deadline, on each `/readyz`. While it fails every authenticated request is denied
 * (ERR_IDENTITY_SESSION_STORE_UNAVAILABLE), so the replica is not ready; it is ready again as soon
 * as a read succeeds, with no request needed to notice (a replica taken out of the balancer gets none).
 */
import { isCustosError } from '../../kernel/index.js';
import type { SessionStore } from './types.js';

export interface SessionStoreReadiness {
  readonly state: 'ok' | 'failing';
  /** `unreachable` (the read failed) or `timeout` (no answer within the deadline). */
  readonly reason?: 'unreachable' | 'timeout';
}

/** A principal no token can carry, so the probe reads nothing of a real user. */
const PROBE = { iss: 'custos:readiness', sub: 'custos:readiness' } as const;

export async function checkSessionStore(store: Pick<SessionStore, 'revocation'>, timeoutMs: number): Promise<SessionStoreReadiness> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<SessionStoreReadiness>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'failing', reason: 'timeout' }), timeoutMs);
  });
  const read = Promise.resolve()
    .then(() => store.revocation(PROBE.iss, PROBE.sub, undefined))
    .then(
      (): SessionStoreReadiness => ({ state: 'ok' }),
      (err: unknown): SessionStoreReadiness => {
        if (!isCustosError(err) || err.code !== 'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE') throw err;
        return { state: 'failing', reason: 'unreachable' };
      },
    );
  try {
    return await Promise.race([read, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

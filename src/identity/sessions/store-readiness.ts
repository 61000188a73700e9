/**
 * Readiness of the session store: one small read that always reaches the store (an MCP session
 * no client holds; revocations may be answered from memory), bounded by a deadline, on each `/readyz`. While it fails every authenticated request is denied
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

/** An MCP session id no client can hold (the ids Custos gives out are UUIDs), so the probe reads nothing of a real session. */
const PROBE_SESSION = 'custos:readiness';

export async function checkSessionStore(store: Pick<SessionStore, 'getMcpSession'>, timeoutMs: number): Promise<SessionStoreReadiness> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<SessionStoreReadiness>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'failing', reason: 'timeout' }), timeoutMs);
  });
  const read = Promise.resolve()
    .then(() => store.getMcpSession(PROBE_SESSION))
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

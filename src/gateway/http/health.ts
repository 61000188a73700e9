/** Liveness (`/healthz`) and readiness (`/readyz`) probes. */
import type { PolicySource } from '../../kernel/index.js';
import type { ReadinessChecks, UpstreamPool, UpstreamStatus } from '../types.js';

export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  readonly checks: {
    readonly audit: 'ok' | 'failing' | 'unchecked';
    readonly policy: 'ok' | 'failing';
    readonly upstreams: readonly UpstreamStatus[];
  };
}

/**
 * Ready when the audit store writes and a policy is in force: without either every call
 * is denied. A failed upstream is reported but does not make the gateway unready (other
 * replicas would see the same upstream).
 */
export async function checkReadiness(checks: ReadinessChecks | undefined, policy: PolicySource, upstreams: UpstreamPool): Promise<Readiness> {
  let audit: Readiness['checks']['audit'] = 'unchecked';
  if (checks?.audit) {
    try {
      audit = (await checks.audit()) ? 'ok' : 'failing';
    } catch {
      audit = 'failing';
    }
  }
  let policyState: Readiness['checks']['policy'] = 'ok';
  try {
    policy.current();
  } catch {
    policyState = 'failing';
  }
  const ready = audit !== 'failing' && policyState === 'ok';
  return { status: ready ? 'ready' : 'not_ready', checks: { audit, policy: policyState, upstreams: upstreams.status() } };
}

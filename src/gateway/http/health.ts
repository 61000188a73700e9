/** Liveness (`/healthz`) and readiness (`/readyz`) probes. */
import type { PolicySource } from '../../kernel/index.js';
import type { AuditReadiness, IssuerStatus, ReadinessChecks, SinkReadiness, UpstreamPool, UpstreamStatus } from '../types.js';

export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  /** Why not ready (empty when ready): `audit_<reason>` (e.g. `audit_busy`, `audit_disk_full`), `sessions_<reason>` (`sessions_unreachable`, `sessions_timeout`), `policy_unavailable`. */
  readonly reasons: readonly string[];
  readonly checks: {
    readonly audit: 'ok' | 'failing' | 'unchecked';
    /** While failing: the reason of the last failed append, since when, and how many failed. */
    readonly auditFailure?: Omit<AuditReadiness, 'state'>;
    /** The session store (revocations, idle logoff, MCP sessions): without it every authenticated request is denied. */
    readonly sessions: 'ok' | 'failing' | 'unchecked';
    readonly policy: 'ok' | 'failing';
    readonly upstreams: readonly UpstreamStatus[];
    readonly issuers: readonly IssuerStatus[];
    /** SIEM sinks and anchors: lag and last error. Reported, not gating: a SIEM that is down costs lag, never calls. */
    readonly sinks: readonly SinkReadiness[];
  };
}

/**
 * Ready when the audit store writes, the session store answers and a policy is in force: without
 * any of them every call is denied. The audit check is the store's append health (failing from a failed append until
 * one succeeds), never a read, so a locked or full store is not ready even though it reads.
 * Upstreams and issuers are reported but do not gate readiness: other replicas would see
 * the same dead tool or identity provider, and calls that need neither keep working.
 */
export async function checkReadiness(checks: ReadinessChecks | undefined, policy: PolicySource, upstreams: UpstreamPool): Promise<Readiness> {
  const reasons: string[] = [];
  let audit: Readiness['checks']['audit'] = 'unchecked';
  let auditFailure: Readiness['checks']['auditFailure'];
  if (checks?.audit) {
    const health = await Promise.resolve()
      .then(() => checks.audit!())
      .catch((): AuditReadiness => ({ state: 'failing', reason: 'check_failed' }));
    audit = health.state;
    if (health.state === 'failing') {
      const { state: _state, ...failure } = health;
      auditFailure = failure;
      reasons.push(`audit_${health.reason ?? 'unavailable'}`);
    }
  }
  let sessions: Readiness['checks']['sessions'] = 'unchecked';
  if (checks?.sessions) {
    const health = await checks.sessions().catch(() => ({ state: 'failing' as const, reason: 'check_failed' }));
    sessions = health.state;
    if (health.state === 'failing') reasons.push(`sessions_${health.reason ?? 'unavailable'}`);
  }
  let policyState: Readiness['checks']['policy'] = 'ok';
  try {
    policy.current();
  } catch {
    policyState = 'failing';
    reasons.push('policy_unavailable');
  }
  const sinks = checks?.sinks ? await checks.sinks().catch((): SinkReadiness[] => []) : [];
  return {
    status: reasons.length === 0 ? 'ready' : 'not_ready',
    reasons,
    checks: {
      audit,
      ...(auditFailure ? { auditFailure } : {}),
      sessions,
      policy: policyState,
      upstreams: upstreams.status(),
      issuers: checks?.issuers?.() ?? [],
      sinks,
    },
  };
}

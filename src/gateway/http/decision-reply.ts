/** The body of a decision API answer (authorize and confirmations share it). */
import type { Authorization } from '../../kernel/index.js';
import type { PendingAuthorization } from './pending-store.js';

export function buildDecisionReply(authorization: Authorization, pending?: PendingAuthorization): Record<string, unknown> {
  const { decision } = authorization;
  return {
    decision: decision.decision,
    request_id: authorization.call.requestId,
    reasons: decision.reasons,
    policy: { bundle_hash: decision.bundleHash, determining_policies: decision.determiningPolicies },
    arguments: authorization.redactedArguments.value,
    ...(pending ? { expires_at: new Date(pending.expiresAt).toISOString() } : {}),
  };
}

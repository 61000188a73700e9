/** The per-call break-glass hook: a call covered by an open grant runs with `emergency` set and raises an alert. */
import type { Pipeline, ToolCall } from '../../kernel/index.js';
import type { EmergencyPort } from './session-types.js';

/** Returns the call with `emergency` set when the user's session holds an open grant (else the call unchanged). */
export async function applyEmergencyGrant(emergency: EmergencyPort | undefined, pipeline: Pipeline, call: ToolCall): Promise<ToolCall> {
  if (!emergency || !call.principal) return call;
  const grant = await emergency.activeGrant(call.principal);
  if (!grant) return call;
  const covered: ToolCall = { ...call, emergency: { grantId: grant.grantId } };
  await pipeline.recordAlert({ type: 'emergency_access', severity: 'high', call: covered, decision: 'allow', detail: { grant_id: grant.grantId, phase: 'used' } });
  return covered;
}

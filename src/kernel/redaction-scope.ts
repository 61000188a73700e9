/** What a redaction applies to under the bundle's redaction section, and how its result goes on a row. */
import type { ActivePolicy, RedactOptions } from './ports.js';
import type { AuditEntry, Redaction, RedactionDestination, ToolCall } from './types.js';

/** The bundle's redaction policy, the call's tool, the agent's tier, and where the value goes. */
export function redactionScope(call: ToolCall, policy: ActivePolicy | undefined, destination: RedactionDestination): Omit<RedactOptions, 'dataClasses'> {
  return { policy: policy?.redaction, tool: call.tool, tier: call.agent.tier, destination };
}

/** The row's `redactions`: counts and types, and which rule redacted what when the protector says. */
export function redactionsOf(r: Redaction): AuditEntry['redactions'] {
  return { count: r.count, types: r.types, ...(r.rules?.length ? { rules: r.rules } : {}), ...(r.allowed ? { allowed: r.allowed } : {}) };
}

/**
 * The one typed list of the reasons Custos itself gives for a denial (`policy.reasons` of a
 * `deny` row). Policy reasons (`@reason` annotations) come from the bundle and are the
 * bundle's own vocabulary; every other reason a row carries is one of these.
 * docs/audit-schema.md ("Deny reasons") lists them, and a test holds the two together.
 */
export const DENY_REASONS = {
  /** No verified identity reached the pipeline. */
  NO_IDENTITY: 'ERR_IDENTITY_TOKEN_MISSING',
  /** The agent declared a tier the credential does not carry (also an alert). */
  TIER_MISMATCH: 'tier_mismatch',
  /** The call names another tenant's resources. */
  TENANT_MISMATCH: 'tenant_mismatch',
  /** The arguments are past an input limit, or the classifier could not inspect them whole. */
  ARGUMENTS_TOO_COMPLEX: 'arguments_too_complex',
  /** The arguments do not validate against the tool's input schema. */
  ARGUMENTS_INVALID: 'arguments_invalid',
  /** No policy bundle is in force. */
  NO_POLICY: 'ERR_POLICY_BUNDLE_INVALID',
  /** Classification or the policy threw. */
  POLICY_EVALUATION_FAILED: 'ERR_POLICY_EVALUATION_FAILED',
  /** The intent row could not be made durable: the call never ran. */
  AUDIT_UNAVAILABLE: 'ERR_AUDIT_UNAVAILABLE',
  /** The human declined a call the policy held for confirmation. */
  CONFIRMATION_DECLINED: 'confirmation_declined',
  /** The human did not answer in time. */
  CONFIRMATION_TIMEOUT: 'confirmation_timeout',
  /** Custos could not ask the human (no channel, an error, the hold dropped). */
  CONFIRMATION_UNAVAILABLE: 'confirmation_unavailable',
  /** The session was revoked. */
  SESSION_REVOKED: 'session_revoked',
  /** The session was idle past the automatic logoff. */
  SESSION_IDLE: 'session_idle',
  /** The session store could not be reached: whether the session is revoked or idle is unknown. */
  SESSION_STORE_UNAVAILABLE: 'session_store_unavailable',
  /** A service credential without a user. */
  NO_USER: 'no_user',
  /** A destination the call names is not on the bundle's egress allow-list (host, scheme or port). */
  EGRESS_NOT_ALLOWED: 'egress_not_allowed',
  /** A destination resolves to a private, loopback, link-local or metadata address no rule allows. */
  EGRESS_PRIVATE_ADDRESS: 'egress_private_address',
  /** A destination could not be parsed or resolved (or no egress guard is wired): it cannot be checked. */
  EGRESS_UNRESOLVABLE: 'egress_unresolvable',
  /** What would leave for a model provider could not be redacted: nothing leaves. */
  REDACTION_FAILED: 'redaction_failed',
  /** An admin's kill switch stops this agent, tool, upstream or user's agents (the switch's id and reason on the row's detail). */
  KILL_SWITCH: 'kill_switch',
  /** The tool's description or input schema changed since it was approved; quarantined until an admin re-approves it. */
  TOOL_DEFINITION_CHANGED: 'tool_definition_changed',
  /** The call is past one of the bundle's rate limits (counted against the human, every sub-agent included). */
  RATE_LIMITED: 'rate_limited',
  /** The shared rate-limit counters could not be reached: the call is not let through uncounted. */
  RATE_LIMIT_UNAVAILABLE: 'rate_limit_unavailable',
  /** A scope the catalog requires for the tool is not in both the user's and the delegation's scopes. */
  SCOPE_MISSING: 'scope_missing',
  /** The bundle changed while the human decided, and the bundle now in force does not allow the call. */
  POLICY_CHANGED: 'policy_changed',
  /** A write's before-state (the catalog's `before`) could not be read or redacted: the write is not forwarded. */
  BEFORE_STATE_UNAVAILABLE: 'before_state_unavailable',
  /** A delivered offline journal (audited fail-open) or its metadata did not verify: nothing of it was recorded. */
  JOURNAL_INVALID: 'journal_invalid',
} as const;

/** Why Custos' token endpoint refused a delegation (RFC 8693); on rows as `delegation_<reason>`. */
export const DELEGATION_REFUSALS = [
  'request_invalid',
  'grant_type_unsupported',
  'token_type_unsupported',
  'target_invalid',
  'subject_token_invalid',
  'actor_token_invalid',
  'grant_invalid',
  'grant_revoked',
  'actor_not_grantee',
  'depth_exceeded',
  'scope_widened',
  'grant_requires_interactive',
] as const;

export type DelegationRefusal = (typeof DELEGATION_REFUSALS)[number];

/** A reason Custos gives for a denial: one of DENY_REASONS, or a refused delegation. */
export type DenyReason = (typeof DENY_REASONS)[keyof typeof DENY_REASONS] | `delegation_${DelegationRefusal}`;

/** Every deny reason of Custos' own, in order (the list the docs are checked against). */
export const ALL_DENY_REASONS: readonly DenyReason[] = Object.freeze([
  ...Object.values(DENY_REASONS),
  ...DELEGATION_REFUSALS.map((r) => `delegation_${r}` as const),
]);

/** The row reason of a refused delegation; an unknown refusal is `delegation_request_invalid`. */
export function delegationDenyReason(reason: unknown): DenyReason {
  return (DELEGATION_REFUSALS as readonly unknown[]).includes(reason) ? (`delegation_${reason as DelegationRefusal}` as const) : 'delegation_request_invalid';
}

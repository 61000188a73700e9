/** The domain vocabulary every module speaks. Pure data: no I/O, no classes with state. */

export const TIERS = ['interactive', 'subagent', 'background', 'api'] as const;
export type Tier = (typeof TIERS)[number];

/** What kind of governed action a ToolCall is. */
export const CALL_KINDS = ['tool', 'resource', 'prompt', 'sampling', 'elicitation', 'model'] as const;
export type CallKind = (typeof CALL_KINDS)[number];

/** What kind of credential a principal was verified from; the tier is derived from it. */
export type CredentialKind = 'user' | 'delegation' | 'background' | 'client';

/** The verified human (or workload) on whose behalf a call is made. */
export interface Principal {
  readonly sub: string;
  readonly iss: string;
  readonly email?: string;
  readonly tenant?: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  /** The IdP session (`sid`) the token belongs to, when the token names one. */
  readonly sessionId?: string;
  readonly clientId?: string;
  /** Set when the IdP marked the token as a machine's own (client credentials, no user): the marker found, e.g. `entra_idtyp_app`. */
  readonly machine?: string;
  /** `jti` of the presented token. */
  readonly tokenId?: string;
  /** Seconds since epoch. */
  readonly issuedAt?: number;
  readonly expiresAt?: number;
  /** The kind of credential presented (default: the user's own token). */
  readonly credential?: CredentialKind;
  /** The acting parties of a delegated credential (RFC 8693 `act`), outermost (most recent) last. */
  readonly actors?: readonly string[];
  /** Granted scope, when the credential carries one (a delegated credential: the scope delegated to the agent). */
  readonly scope?: readonly string[];
  /** On a delegated credential: the scope of the user's own token it was minted from (Custos' `user_scope` claim). */
  readonly userScope?: readonly string[];
}

/** The agent acting for the principal: context, never the principal. */
export interface AgentContext {
  readonly name: string;
  readonly runtime?: string;
  readonly version?: string;
  /** The HTTP `User-Agent` of the agent's client (inventory). */
  readonly userAgent?: string;
  /** The SDK its headers name (e.g. the Stainless `x-stainless-*` headers), for the inventory. */
  readonly sdk?: string;
  /** Derived from the credential, never taken from the agent's word. */
  readonly tier: Tier;
  /** What the agent said its tier was, when it said one. */
  readonly declaredTier?: Tier;
  /** `user:<sub>`, `agent:<name>`, … in order; the audit row appends `tool:<server>/<name>`. */
  readonly delegationChain: readonly string[];
  /**
   * The agent declared a tier (valid or not) other than the one derived from the credential.
   * The pipeline's tier stage denies such a call (`tier_mismatch`) and raises an alert.
   */
  readonly tierMismatch?: boolean;
}

export interface ToolRef {
  readonly server: string;
  readonly name: string;
}

/** Any governed action: a tool call, a resource read, a prompt fetch, a sampling request… */
export interface ToolCall {
  readonly requestId: string;
  readonly kind: CallKind;
  readonly tool: ToolRef;
  readonly arguments: unknown;
  /** null when no identity could be verified: such a call is always denied. */
  readonly principal: Principal | null;
  readonly agent: AgentContext;
  readonly traceId?: string;
  /** Set when the call runs under an open break-glass grant. */
  readonly emergency?: { readonly grantId: string };
  /** Where Custos itself sends the call (`scheme://host:port`, e.g. a model provider): recorded as `egress.destination`. */
  readonly destination?: string;
}

export type DecisionValue = 'allow' | 'deny' | 'confirm';

export interface Decision {
  readonly decision: DecisionValue;
  /** Short, stable reasons: policy reason annotations or error codes. Never payloads. */
  readonly reasons: readonly string[];
  readonly bundleHash: string;
  readonly determiningPolicies: readonly string[];
  /** Set when the bundle deciding was activated as an emergency change (one approver): flagged on the row. */
  readonly emergencyChange?: true;
}

/** How a tool is classified by the policy bundle's catalog. */
export interface ToolClassification {
  /** e.g. reads_phi, writes, destructive, egress */
  readonly classes: readonly string[];
  /** Argument names whose values are URLs the call sends data to (the catalog's `urls`), checked by the egress stage. */
  readonly urls?: readonly string[];
  /** Argument names whose values are host names or `host:port` (the catalog's `hosts`). */
  readonly hosts?: readonly string[];
}

/** The result of running detectors over a value. */
/** How many values one redaction rule (a built-in detector id, or `custom:ID` from the bundle) redacted. */
export interface RedactionRuleCount {
  readonly rule: string;
  readonly type: string;
  readonly count: number;
}

export interface Redaction<T = unknown> {
  readonly value: T;
  readonly count: number;
  /** Sorted, unique detector types, e.g. ["secret", "ssn"]. */
  readonly types: readonly string[];
  /** Which rule redacted what (type and count, never the value), sorted by rule. */
  readonly rules?: readonly RedactionRuleCount[];
  /** Detected values kept because the bundle allow-lists them. */
  readonly allowed?: number;
}

/** Where a redacted value goes: the agent (tool output), the audit trail, the upstream tool, an outside model. */
export const REDACTION_DESTINATIONS = ['agent', 'audit', 'upstream', 'model'] as const;
export type RedactionDestination = (typeof REDACTION_DESTINATIONS)[number];

/** One `redaction.rules[]` entry of a bundle: detectors turned on or off for matching calls. */
export interface RedactionRule {
  /** `server/name` globs (`*` in the name); absent: every tool. */
  readonly tools?: readonly string[];
  readonly tiers?: readonly string[];
  readonly destinations?: readonly RedactionDestination[];
  /** Detector ids or types (`all`, `secret`, `ssn`…) or `custom:ID` patterns to add. */
  readonly enable?: readonly string[];
  readonly disable?: readonly string[];
}

/** A bundle's custom pattern: an id, the marker type and a bounded regular expression. */
export interface RedactionPattern {
  readonly id: string;
  readonly type: string;
  readonly pattern: string;
  /** Case-insensitive matching. */
  readonly ignoreCase?: boolean;
}

/** The bundle's `redaction:` section (catalog.yaml), as data; the protector compiles it. */
export interface RedactionPolicy {
  /** Detectors on by default (ids or types; default `all`). */
  readonly detectors: readonly string[];
  readonly patterns: readonly RedactionPattern[];
  /** Values never redacted (exact, after trimming). */
  readonly allow: readonly string[];
  /** Applied in order; later rules win. */
  readonly rules: readonly RedactionRule[];
}

/** How a human answered a confirmation the policy asked for (`@confirm("true")`). */
export const CONFIRMATION_OUTCOMES = ['accepted', 'declined', 'timeout', 'unavailable'] as const;
export type ConfirmationOutcome = (typeof CONFIRMATION_OUTCOMES)[number];

export const AUDIT_SCHEMA = 'custos.audit/v1' as const;

export type AuditEvent =
  | 'intent' // an allowed call is about to be forwarded (durable before forwarding)
  | 'result' // the outcome of a forwarded call
  | 'deny' // a call that was not forwarded
  | 'confirm' // the policy asked a human to confirm the call; it is held until they answer
  | 'auth_failure' // a request whose identity could not be verified
  | 'alert' // an anomaly worth a human's attention (tier mismatch, emergency access…)
  | 'admin' // policy activation, mode switches, break-glass, retention purges…
  | 'checkpoint'; // a signed Merkle tree head over the rows before it (docs/audit-schema.md)

/**
 * What a writer hands to the audit store. The store adds seq, time (when absent),
 * prev_hash and hash. Field names are the playbook's (see docs/audit-schema.md).
 */
export interface AuditEntry {
  readonly schema: typeof AUDIT_SCHEMA;
  readonly event: AuditEvent;
  readonly time: string;
  readonly request_id: string;
  readonly kind?: CallKind;
  readonly user: {
    readonly sub: string | null;
    readonly iss?: string;
    readonly email?: string;
    readonly tenant?: string;
    readonly session_id?: string;
    /** Present and true only on rows without a verified identity. */
    readonly anonymous?: true;
  };
  readonly agent?: {
    readonly name: string;
    readonly runtime?: string;
    readonly version?: string;
    readonly user_agent?: string;
    readonly sdk?: string;
    readonly tier: Tier;
    readonly declared_tier?: Tier;
    readonly delegation_chain: readonly string[];
  };
  readonly tool?: { readonly server: string; readonly name: string; readonly classes?: readonly string[] };
  readonly data_classes?: readonly string[];
  readonly policy: {
    readonly decision: DecisionValue;
    readonly bundle_hash: string;
    readonly determining_policies: readonly string[];
    readonly reasons: readonly string[];
    /** Present and true on rows decided by a bundle activated as an emergency change (one approver, under review). */
    readonly emergency_change?: true;
  };
  /** Redacted arguments plus the SHA-256 of the raw arguments. */
  readonly input?: { readonly redacted: unknown; readonly sha256: string };
  /** Redacted output plus the SHA-256 of the raw output. */
  readonly output?: { readonly redacted: unknown; readonly sha256: string; readonly error?: string };
  readonly redactions: { readonly count: number; readonly types: readonly string[]; readonly rules?: readonly RedactionRuleCount[]; readonly allowed?: number };
  readonly trace_id?: string;
  /** Present on calls made under break-glass emergency access. */
  readonly access?: { readonly emergency: true; readonly grant_id: string };
  /** Present on the rows of a confirmed call: `requested` on its `confirm` row, the human's answer on the row after it. */
  readonly confirmation?: { readonly status: 'requested' | ConfirmationOutcome; readonly channel?: string };
  /** Present on calls that send data out: the destination (`scheme://host:port`) and the SHA-256 of what leaves. */
  readonly egress?: { readonly destination: string; readonly destinations?: readonly string[]; readonly payload_sha256: string };
  /** Present and true on the rows of a live control test (`custos evidence`): evidence, never counted as real traffic. */
  readonly control_test?: true;
  /** Present on alert rows. */
  readonly alert?: { readonly type: string; readonly severity: 'low' | 'medium' | 'high' };
  /** Present on checkpoint rows: the signed head of the Merkle tree over rows 1..tree_size. */
  readonly checkpoint?: {
    readonly tree_size: number;
    readonly root_hash: string;
    readonly key_id: string;
    /** Ed25519 over the checkpoint's signed form, base64url. */
    readonly signature: string;
  };
  /** Free-form, non-sensitive detail of admin events (bundle activation, purge…). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Present on rows recorded offline: a fail-open call the SDK journaled while Custos was unreachable, delivered later. */
  readonly offline?: {
    readonly recorded_offline: true;
    /** When the SDK wrote the journal entry (its clock). */
    readonly occurred_at: string;
    readonly outage: { readonly from: string; readonly to: string };
    readonly journal: { readonly key_thumbprint: string; readonly seq: number; readonly entry_hash: string };
  };
}

export interface AuditRecord extends AuditEntry {
  readonly seq: number;
  readonly prev_hash: string;
  readonly hash: string;
}

/** The hash chain starts from this value. */
export const GENESIS_HASH = '0'.repeat(64);

/** The bundle hash recorded when no bundle could be loaded. */
export const NO_BUNDLE_HASH = 'none';

/** What the catalog's `before` says for a tool: the tool that reads the target and its arguments (name ← the write's argument). */
export interface BeforeStateSpec {
  /** `server/name` of the reading tool (the same server as the write). */
  readonly tool: string;
  readonly arguments: Readonly<Record<string, string>>;
  /** Read only for calls carrying one of these data classes (absent: every call to the tool). */
  readonly dataClasses?: readonly string[];
}

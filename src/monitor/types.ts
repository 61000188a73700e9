/** Types of the monitor's public surface: rule settings, alerts, kill switches, the inventory. */
import type { AuditRecord } from '../kernel/index.js';

export type Severity = 'low' | 'medium' | 'high';

/** The alert types the monitor's rules raise (besides the pipeline's own `tier_mismatch` and `emergency_access`). */
export const ALERT_TYPES = {
  DENY_RATE_SPIKE: 'deny_rate_spike',
  TIER_MISMATCH: 'tier_mismatch',
  TOOL_FIRST_USE: 'tool_first_use',
  TOOL_FIRST_USE_BY_USER: 'tool_first_use_by_user',
  REDACTIONS_OVER_THRESHOLD: 'redactions_over_threshold',
  BREAK_GLASS: 'emergency_access',
  CHAIN_VERIFICATION_FAILED: 'chain_verification_failed',
  TOOL_DEFINITION_CHANGED: 'tool_definition_changed',
  BUNDLE_ACTIVATED_UNSAFE_MODE: 'bundle_activated_unsafe_mode',
  UPSTREAM_DOWN: 'upstream_down',
  AUTH_FAILURE_FLOOD: 'auth_failure_flood',
} as const;

/** The thresholds of the alert rules (the `monitor.rules` config section, resolved). */
export interface RuleSettings {
  /** Length of one counting window (deny spikes, redactions, auth failures), in ms. */
  readonly windowMs: number;
  /** Windows before the current one that make the rolling baseline. */
  readonly baselineWindows: number;
  /** A deny spike: at least `minDenies` denials in the window and `factor` times the baseline's mean. */
  readonly denySpike: { readonly minDenies: number; readonly factor: number };
  /** Redacted values per user in one window that raise an alert. */
  readonly redactionsPerWindow: number;
  /** Failed authentications (all sources) in one window that raise an alert. */
  readonly authFailuresPerWindow: number;
  /** The same alert (type and key) is raised again only after this long, in ms. */
  readonly cooldownMs: number;
  /** Raise `tool_first_use` / `tool_first_use_by_user`. */
  readonly firstUse: boolean;
}

export const DEFAULT_RULE_SETTINGS: RuleSettings = Object.freeze({
  windowMs: 60_000,
  baselineWindows: 10,
  denySpike: Object.freeze({ minDenies: 10, factor: 3 }),
  redactionsPerWindow: 50,
  authFailuresPerWindow: 100,
  cooldownMs: 15 * 60_000,
  firstUse: true,
});

/** An alert a rule raises: written as an `alert` row through the pipeline, then delivered. */
export interface RaisedMonitorAlert {
  readonly type: string;
  readonly severity: Severity;
  /** What the cooldown is keyed on besides the type (a user, an agent, a tool, an upstream). */
  readonly key: string;
  /** The row whose user the alert names, when there is one. */
  readonly cause?: AuditRecord;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Where alert rows are pushed besides the trail (which the SIEM export sinks read anyway). */
export interface AlertSink {
  readonly name: string;
  deliver(records: readonly AuditRecord[]): Promise<void>;
}

/** What a kill switch stops: one agent (by name), one tool, one upstream, or every call of one user. */
export type KillTarget =
  | { readonly kind: 'agent'; readonly name: string }
  | { readonly kind: 'tool'; readonly server: string; readonly name: string }
  | { readonly kind: 'upstream'; readonly server: string }
  | { readonly kind: 'user'; readonly sub: string };

export interface KillSwitch {
  readonly id: string;
  readonly target: string;
  readonly reason: string;
  readonly set_by: string | null;
  readonly set_at: string;
  /** The admin row that set it. */
  readonly seq: number;
}

export interface AlertView {
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly severity: Severity;
  readonly user: string | null;
  readonly agent?: string;
  readonly tool?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly acknowledged?: { readonly by: string | null; readonly at: string; readonly note: string; readonly seq: number };
}

export interface ToolDefinitionView {
  readonly hash: string;
  readonly definition: unknown;
  readonly seq: number;
  readonly time: string;
}

export interface InventoryTool {
  readonly name: string;
  readonly hash: string;
  readonly status: 'approved' | 'quarantined' | 'changed_alert_only';
  readonly approved?: ToolDefinitionView;
  /** The definition listed now, when it differs from the approved one. */
  readonly pending?: { readonly hash: string; readonly definition: unknown };
  readonly diff?: readonly DefinitionDiff[];
  readonly calls: number;
}

export interface DefinitionDiff {
  readonly field: string;
  readonly approved: unknown;
  readonly current: unknown;
}

export interface InventoryServer {
  readonly name: string;
  readonly version: string | null;
  readonly server_name: string | null;
  readonly transport: string | null;
  readonly state: string;
  readonly first_seen: string;
  readonly last_seen: string;
  readonly calls: number;
  readonly tools: readonly InventoryTool[];
}

export interface InventoryAgent {
  readonly name: string;
  readonly runtime: string | null;
  readonly version: string | null;
  /** The HTTP `User-Agent` its client sent, and the SDK its headers name (`x-stainless-*`). */
  readonly user_agent: string | null;
  readonly sdk: string | null;
  readonly tiers: readonly string[];
  readonly users: number;
  readonly first_seen: string;
  readonly last_seen: string;
  readonly calls: number;
}

export interface Inventory {
  readonly generated_at: string;
  readonly servers: readonly InventoryServer[];
  readonly agents: readonly InventoryAgent[];
}

/**
 * Egress: where a call's data may go. The `egress` stage finds the destinations a call names
 * (arguments the catalog marks as URLs or hosts, and URL-shaped strings anywhere in the
 * arguments of a tool classed `egress`), asks the EgressGuard port (src/protect implements
 * it, DNS included) whether each is on the bundle's allow-list, and denies the call with a
 * typed reason when one is not. Rows carry `egress.destination` and `egress.payload_sha256`.
 * A call whose destination the front door fixes (the model-provider proxy) names it in
 * `ToolCall.destination`: recorded, not looked up (the provider is configuration).
 */
import { digestJson } from './digest.js';
import { DENY_REASONS } from './deny-reasons.js';
import type { DenyReason } from './deny-reasons.js';
import type { AuditEntry, ToolCall, ToolClassification } from './types.js';

/** The tool class that makes every URL-shaped string of a call's arguments a destination. */
export const EGRESS_CLASS = 'egress';

/** One entry of a bundle's `egress.allow`: hosts (exact or `*.example.com`), schemes and ports. */
export interface EgressRule {
  readonly hosts: readonly string[];
  /** Default `https`. */
  readonly schemes: readonly string[];
  /** Absent: the scheme's default port only. */
  readonly ports?: readonly number[];
  /** Private, loopback, link-local and metadata addresses are denied unless a rule allows them (for an internal service). */
  readonly allowPrivate?: boolean;
}

/** The bundle's egress section: the allow-list. Empty: every destination is denied. */
export interface EgressRules {
  readonly allow: readonly EgressRule[];
}

/** Why the guard refused a destination; each is a deny reason. */
export type EgressRefusal = typeof DENY_REASONS.EGRESS_NOT_ALLOWED | typeof DENY_REASONS.EGRESS_PRIVATE_ADDRESS | typeof DENY_REASONS.EGRESS_UNRESOLVABLE;

/**
 * What `egress.destination` holds when a value named no destination Custos could check: a marker,
 * never the value (it may carry a secret). The guard records them; readers (the OCSF export) skip them.
 */
export const EGRESS_MARKERS = { UNPARSEABLE: 'unparseable', TOO_MANY: 'too_many_destinations' } as const;

export interface EgressVerdict {
  /** Each destination as `scheme://host:port` (never a path or query: they can carry secrets). */
  readonly destinations: readonly string[];
  /** The first destination refused, and why. */
  readonly denied?: { readonly destination: string; readonly reason: EgressRefusal };
}

export interface EgressRequest {
  readonly call: Pick<ToolCall, 'tool' | 'arguments'>;
  readonly classification: ToolClassification;
  readonly rules: EgressRules;
}

/** Finds a call's destinations and checks them (DNS included): src/protect implements it. Never throws for a refusal. */
export interface EgressGuard {
  check(request: EgressRequest): Promise<EgressVerdict>;
}

/** What the egress stage found: on the call's rows as `egress`. */
export interface EgressFinding {
  readonly destinations: readonly string[];
  readonly payloadSha256: string;
}

/** The row's `egress` field. */
export function egressOf(finding: EgressFinding | undefined): AuditEntry['egress'] {
  if (!finding || finding.destinations.length === 0) return undefined;
  const [destination] = finding.destinations as [string];
  return { destination, ...(finding.destinations.length > 1 ? { destinations: [...finding.destinations] } : {}), payload_sha256: finding.payloadSha256 };
}

/** Does the catalog say this tool's arguments can name a destination? */
export function mayEgress(classification: ToolClassification): boolean {
  return classification.classes.includes(EGRESS_CLASS) || (classification.urls?.length ?? 0) > 0 || (classification.hosts?.length ?? 0) > 0;
}

/**
 * The egress check of one call. `payload` is what leaves (the outbound body of a model call,
 * else the arguments). A guard that throws is a refusal (fail closed).
 */
export async function checkEgress(
  call: ToolCall,
  classification: ToolClassification,
  rules: EgressRules | undefined,
  guard: EgressGuard | undefined,
  payload: unknown,
): Promise<{ finding?: EgressFinding; reasons?: readonly DenyReason[] }> {
  if (call.destination) return { finding: { destinations: [call.destination], payloadSha256: digestJson(payload) } };
  if (!mayEgress(classification)) return {};
  if (!guard) return { reasons: [DENY_REASONS.EGRESS_UNRESOLVABLE] };
  let verdict: EgressVerdict;
  try {
    verdict = await guard.check({ call, classification, rules: rules ?? { allow: [] } });
  } catch {
    return { reasons: [DENY_REASONS.EGRESS_UNRESOLVABLE] };
  }
  const destinations = orderDenied(verdict.destinations, verdict.denied?.destination);
  const finding = destinations.length > 0 ? { destinations, payloadSha256: digestJson(payload) } : undefined;
  return { finding, reasons: verdict.denied ? [verdict.denied.reason] : undefined };
}

/** The refused destination first (added when the guard listed it only as refused): it is the row's `egress.destination`. */
function orderDenied(destinations: readonly string[], denied: string | undefined): readonly string[] {
  return denied === undefined ? destinations : [denied, ...destinations.filter((d) => d !== denied)];
}

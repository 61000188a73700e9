/**
 * Audit rows of the token endpoint and of background grants: an `admin` row for each token
 * or grant issued, a `deny` row for each refusal. Rows name the user (when the subject
 * verified), the chain and a reason; never a token.
 */
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditEntry, AuditStore, Principal, Tier } from '../kernel/index.js';

export interface ExchangeAuditContext {
  readonly audit: AuditStore;
  /** The policy bundle in force, pinned on every row. */
  readonly bundleHash: () => string;
  readonly now: () => Date;
  readonly newId: () => string;
}

export interface ExchangeRow {
  readonly allowed: boolean;
  readonly reasons: readonly string[];
  readonly user?: Principal;
  readonly agent?: { readonly name: string; readonly tier: Tier; readonly chain: readonly string[] };
  readonly detail: Readonly<Record<string, unknown>>;
  readonly traceId?: string;
}

function userOf(p: Principal | undefined): AuditEntry['user'] {
  return p ? { sub: p.sub, iss: p.iss, email: p.email, tenant: p.tenant, session_id: p.sessionId } : { sub: null, anonymous: true };
}

/** Appends the row durably; throws ERR_AUDIT_UNAVAILABLE (from the store) when it cannot. */
export async function recordExchange(ctx: ExchangeAuditContext, row: ExchangeRow): Promise<void> {
  const entry: AuditEntry = {
    schema: AUDIT_SCHEMA,
    event: row.allowed ? 'admin' : 'deny',
    time: ctx.now().toISOString(),
    request_id: ctx.newId(),
    user: userOf(row.user),
    ...(row.agent ? { agent: { name: row.agent.name, tier: row.agent.tier, delegation_chain: [...row.agent.chain] } } : {}),
    policy: { decision: row.allowed ? 'allow' : 'deny', bundle_hash: ctx.bundleHash(), determining_policies: [], reasons: [...row.reasons] },
    redactions: { count: 0, types: [] },
    ...(row.traceId === undefined ? {} : { trace_id: row.traceId }),
    detail: row.detail,
  };
  await ctx.audit.append(entry);
}

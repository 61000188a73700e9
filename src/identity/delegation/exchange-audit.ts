/**
 * Audit rows of the token endpoint and of background grants: an `admin` row for each token
 * or grant issued, a `deny` row (`delegation_<reason>`) for each refusal. Written through the
 * kernel's row builders (the pipeline's recordAdmin / recordRefusal), so `detail` is redacted
 * like every other row's. Rows name the user (when the subject verified), the chain and a
 * reason; never a token.
 */
import type { ControlPlaneRecorder, DenyReason, Principal, RowAgent } from '../../kernel/index.js';

export interface ExchangeAuditContext {
  readonly rows: ControlPlaneRecorder;
}

/** A token or grant issued (`admin`, `detail.action` names it). */
export interface IssuedRow {
  readonly allowed: true;
  readonly action: 'token_exchange' | 'background_grant' | 'background_grant_revoked';
  readonly reason: 'token_exchange' | 'background_grant_created' | 'background_grant_revoked';
  readonly user: Principal;
  readonly agent?: RowAgent;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly traceId?: string;
}

/** A refused exchange or grant (`deny`). */
export interface RefusedRow {
  readonly allowed: false;
  readonly reason: DenyReason;
  readonly user?: Principal;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly traceId?: string;
}

export type ExchangeRow = IssuedRow | RefusedRow;

/** Appends the row durably; throws ERR_AUDIT_UNAVAILABLE when it cannot. */
export async function recordExchange(ctx: ExchangeAuditContext, row: ExchangeRow): Promise<void> {
  if (row.allowed) {
    const { action, reason, user, agent, detail, traceId } = row;
    await ctx.rows.recordAdmin({ action, reasons: [reason], principal: user, agent, detail, traceId });
    return;
  }
  await ctx.rows.recordRefusal({ reasons: [row.reason], principal: row.user ?? null, detail: row.detail, traceId: row.traceId });
}

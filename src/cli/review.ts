/**
 * `custos review` — the post-hoc review queue of break-glass grants (164.312(a)(2)(ii)).
 *   review list   reads the trail: grants opened (admin rows) without a closing row, with their calls
 *   review close  asks a running Custos to close one, as the reviewer whose token is given
 *                 (a second person: never the grant holder); the close is an admin row too.
 */
import type { AuditRecord } from '../kernel/index.js';
import { adminRequest } from './admin-http.js';
import type { AdminTarget } from './admin-http.js';
import type { CommandContext } from './context.js';
import { openStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';

export interface ReviewItem {
  readonly grantId: string;
  readonly holder: string;
  readonly openedAt: string;
  readonly expiresAt: string;
  readonly reason: string;
  readonly calls: number;
  readonly closedBy?: string;
}

const actionOf = (r: AuditRecord): unknown => (r.event === 'admin' ? r.detail?.action : undefined);

/**
 * Folds the trail into the review queue: every grant opened, its calls, and who closed it; and
 * every bundle activated as an emergency change (`bundle:<hash>`, its author the holder, its
 * flagged decisions the calls), closed by the next bundle activated with full approvals.
 */
export function collectReviews(records: Iterable<AuditRecord>): ReviewItem[] {
  const items = new Map<string, ReviewItem>();
  const calls = new Map<string, number>();
  for (const r of records) {
    if (actionOf(r) === 'policy_activated' && r.detail?.mode !== 'shadow') {
      const d = r.detail ?? {};
      if (d.emergency === true) {
        items.set(`bundle:${d.new_hash}`, {
          grantId: `bundle:${d.new_hash}`,
          holder: String(d.author ?? '?'),
          openedAt: r.time,
          expiresAt: '',
          reason: 'emergency policy change',
          calls: 0,
        });
      } else if (d.approvals === 'verified') {
        for (const [id, item] of items)
          if (id.startsWith('bundle:') && item.closedBy === undefined) items.set(id, { ...item, closedBy: `bundle:${d.new_hash}` });
      }
      continue;
    }
    if (r.policy.emergency_change && (r.event === 'intent' || r.event === 'deny')) {
      const id = `bundle:${r.policy.bundle_hash}`;
      calls.set(id, (calls.get(id) ?? 0) + 1);
    }
    const grantId = typeof r.detail?.grant_id === 'string' ? r.detail.grant_id : undefined;
    if (actionOf(r) === 'emergency_grant_opened' && grantId) {
      items.set(grantId, {
        grantId,
        holder: r.user.sub ?? '?',
        openedAt: r.time,
        expiresAt: String(r.detail?.expires_at ?? ''),
        reason: String(r.detail?.reason ?? ''),
        calls: 0,
      });
    } else if (actionOf(r) === 'emergency_review_closed' && grantId && items.has(grantId)) {
      items.set(grantId, { ...items.get(grantId)!, closedBy: r.user.sub ?? '?' });
    } else if (r.access?.grant_id && (r.event === 'intent' || r.event === 'deny')) {
      calls.set(r.access.grant_id, (calls.get(r.access.grant_id) ?? 0) + 1);
    }
  }
  return [...items.values()].map((i) => ({ ...i, calls: calls.get(i.grantId) ?? 0 }));
}

export async function listReviews(ctx: CommandContext, opts: StoreOptions & { all?: boolean; json?: boolean }): Promise<void> {
  const store = await openStore(opts);
  const records: AuditRecord[] = [];
  try {
    for await (const r of store.read()) records.push(r);
  } finally {
    await store.close();
  }
  const items = collectReviews(records).filter((i) => opts.all || i.closedBy === undefined);
  for (const i of items) {
    if (opts.json) await ctx.write(`${JSON.stringify(i)}\n`);
    else
      await ctx.write(
        `${i.grantId}  holder=${i.holder}  opened=${i.openedAt}  expires=${i.expiresAt}  calls=${i.calls}  ${i.closedBy ? `closed_by=${i.closedBy}` : 'OPEN'}  reason=${JSON.stringify(i.reason)}\n`,
      );
  }
  if (!opts.json) ctx.out(`${items.length} review(s)${opts.all ? '' : ' open'}`);
}

export async function closeReview(ctx: CommandContext, grantId: string, opts: AdminTarget & { note?: string }): Promise<void> {
  const body = await adminRequest<{ closed_by?: string; closed_at?: string }>(ctx, opts, 'POST', '/v1/emergency/reviews/close', {
    grant_id: grantId,
    ...(opts.note === undefined ? {} : { note: opts.note }),
  });
  if (body) ctx.out(`review of ${grantId} closed by ${body.closed_by} at ${body.closed_at}`);
}

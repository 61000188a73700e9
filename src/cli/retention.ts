/**
 * `custos audit purge` and `custos audit hold`: retention by record class and legal holds.
 *   purge          plans from the whole trail and prints the plan; with --yes removes the rows
 *                  past retention and not held, in batches (one purge row and one transaction
 *                  each, progress on stderr), then signs a checkpoint over the result
 *   hold place     an admin row `legal_hold_placed` (by user, tenant and/or time range)
 *   hold release   an admin row `legal_hold_released`
 *   hold list      the holds open now, from the trail
 */
import { randomUUID } from 'node:crypto';
import {
  HOLD_PLACED,
  HOLD_RELEASED,
  PURGE_ACTION,
  batchRanges,
  checkpointSignerOf,
  collectHold,
  createCheckpointer,
  isPurgedRow,
  planPurge,
} from '../audit/index.js';
import type { AuditStoreAdmin, LegalHold, PurgePlan } from '../audit/index.js';
import { CustosError, NO_BUNDLE_HASH, buildAdminRow } from '../kernel/index.js';
import type { AuditEntry } from '../kernel/index.js';
import type { KeySpec } from '../keys/index.js';
import type { CommandContext } from './context.js';
import { openStore } from './store-uri.js';

/** Rows per purge batch: one purge row and one transaction each. */
export const PURGE_BATCH_ROWS = 5000;

export interface PurgeOptions {
  readonly config: string;
  readonly by: string;
  readonly yes?: boolean;
  readonly json?: boolean;
}

/** The row an operator's CLI action writes: the operator named by --by, Custos' CLI as the issuer. */
function operatorRow(by: string, action: string, detail: Record<string, unknown>): AuditEntry {
  const stamp = { time: new Date().toISOString(), requestId: randomUUID(), bundleHash: NO_BUNDLE_HASH };
  return buildAdminRow(stamp, { user: { sub: by, iss: 'custos:cli' } }, { action, decision: 'allow', detail });
}

function describePlan(plan: PurgePlan): string[] {
  const classes = Object.entries(plan.classes).map(([cls, c]) => `  ${cls}: ${c.purged} row(s) before ${c.cutoff}`);
  const holds = plan.holds.map((h) => `  hold ${h.hold_id}: ${describeHold(h)}`);
  return [
    `${plan.rows} row(s) past retention and not held, of ${plan.head}; ${plan.held} past retention kept under a legal hold`,
    ...classes,
    ...(holds.length ? ['open legal holds:', ...holds] : []),
  ];
}

function describeHold(h: LegalHold): string {
  const bounds = [h.user && `user ${h.user}`, h.tenant && `tenant ${h.tenant}`, h.from && `from ${h.from}`, h.to && `to ${h.to}`].filter(Boolean);
  return `${bounds.join(', ')} (${h.reason}; placed at seq ${h.placed_at})`;
}

export async function purgeAudit(ctx: CommandContext, opts: PurgeOptions): Promise<void> {
  const { loadConfig } = await import('../config/index.js');
  const config = loadConfig(opts.config);
  const store = await openStore({ config: opts.config });
  try {
    const plan = await planPurge(store.read(), config.audit.retention, new Date());
    if (opts.json) ctx.out(JSON.stringify(plan));
    else for (const line of describePlan(plan)) ctx.out(line);
    if (!opts.yes) {
      ctx.out(plan.rows ? 'dry run: nothing was removed; run again with --yes to purge these rows' : 'nothing to purge');
      return;
    }
    if (plan.rows === 0) return;
    await runPurge(ctx, store, plan, opts.by, config.audit.retention.minimumDays);
    await signAfterPurge(ctx, store, config.audit.checkpoints.signingKey, config.keys);
  } finally {
    await store.close();
  }
}

async function runPurge(ctx: CommandContext, store: AuditStoreAdmin, plan: PurgePlan, by: string, minimumDays: number): Promise<void> {
  if (!store.purge) throw new CustosError('ERR_AUDIT_PURGE_REFUSED', 'this audit store cannot purge');
  const batches = batchRanges(plan.ranges, PURGE_BATCH_ROWS);
  const cutoffs = Object.fromEntries(Object.entries(plan.classes).map(([cls, c]) => [cls, c.cutoff]));
  let done = 0;
  for (const [i, ranges] of batches.entries()) {
    const entry = operatorRow(by, PURGE_ACTION, {
      purged: ranges,
      rows: ranges.reduce((n, [from, to]) => n + to - from + 1, 0),
      batch: `${i + 1}/${batches.length}`,
      cutoffs,
      minimum_days: minimumDays,
      holds: plan.holds.map((h) => h.hold_id),
    });
    const { record, purged } = await store.purge(entry);
    done += purged;
    ctx.err(`purge ${i + 1}/${batches.length}: ${purged} row(s) purged (${done} of ${plan.rows}), recorded at seq ${record.seq}`);
  }
  ctx.out(`purged ${done} row(s); their hashes stay in the chain`);
}

/** A signed checkpoint right after the purge, so an offline verifier sees the purge rows under a signature. */
async function signAfterPurge(ctx: CommandContext, store: AuditStoreAdmin, signingKey: string | undefined, keys: readonly KeySpec[]): Promise<void> {
  if (signingKey === undefined) {
    ctx.err('no audit.checkpoints.signingKey: the purge rows are not under a signed checkpoint until Custos writes its next one');
    return;
  }
  const { createKeyRegistry } = await import('../keys/index.js');
  const registry = createKeyRegistry(keys);
  try {
    const signer = checkpointSignerOf(signingKey, (id) => registry.signingKey(id));
    const checkpointer = createCheckpointer(store, {
      signer,
      everyRows: Number.MAX_SAFE_INTEGER,
      everyMs: 2 ** 31 - 1,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    const row = await checkpointer.checkpoint();
    await checkpointer.close();
    if (row?.checkpoint) ctx.out(`checkpoint at seq ${row.seq} signs rows 1..${row.checkpoint.tree_size} (key ${row.checkpoint.key_id})`);
  } finally {
    registry.close();
  }
}

export interface HoldOptions {
  readonly config: string;
  readonly by: string;
  readonly reason: string;
  readonly user?: string;
  readonly tenant?: string;
  readonly from?: string;
  readonly to?: string;
}

function checkTime(value: string | undefined, flag: string): void {
  if (value !== undefined && (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value))))
    throw new CustosError('ERR_CONFIG_INVALID', `${flag} must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z`);
}

export async function placeHold(ctx: CommandContext, opts: HoldOptions): Promise<void> {
  if (opts.user === undefined && opts.tenant === undefined && opts.from === undefined && opts.to === undefined)
    throw new CustosError('ERR_CONFIG_INVALID', 'a legal hold needs at least one of --user, --tenant, --from, --to');
  checkTime(opts.from, '--from');
  checkTime(opts.to, '--to');
  const bounds = Object.fromEntries(Object.entries({ user: opts.user, tenant: opts.tenant, from: opts.from, to: opts.to }).filter(([, v]) => v !== undefined));
  const holdId = randomUUID();
  const store = await openStore({ config: opts.config });
  try {
    const record = await store.append(operatorRow(opts.by, HOLD_PLACED, { hold_id: holdId, ...bounds, reason: opts.reason }));
    ctx.out(`legal hold ${holdId} placed at seq ${record.seq}`);
  } finally {
    await store.close();
  }
}

async function openHolds(store: AuditStoreAdmin): Promise<Map<string, LegalHold>> {
  const holds = new Map<string, LegalHold>();
  for await (const row of store.read()) if (!isPurgedRow(row)) collectHold(row, holds);
  return holds;
}

export async function releaseHold(ctx: CommandContext, holdId: string, opts: Pick<HoldOptions, 'config' | 'by' | 'reason'>): Promise<void> {
  const store = await openStore({ config: opts.config });
  try {
    if (!(await openHolds(store)).has(holdId)) throw new CustosError('ERR_CONFIG_INVALID', `no open legal hold ${holdId} (custos audit hold list)`);
    const record = await store.append(operatorRow(opts.by, HOLD_RELEASED, { hold_id: holdId, reason: opts.reason }));
    ctx.out(`legal hold ${holdId} released at seq ${record.seq}`);
  } finally {
    await store.close();
  }
}

export async function listHolds(ctx: CommandContext, opts: { config: string; json?: boolean }): Promise<void> {
  const store = await openStore({ config: opts.config }, { readonly: true });
  try {
    const holds = [...(await openHolds(store)).values()];
    if (opts.json) ctx.out(JSON.stringify(holds));
    else if (holds.length === 0) ctx.out('no open legal holds');
    else for (const h of holds) ctx.out(`${h.hold_id}: ${describeHold(h)}`);
  } finally {
    await store.close();
  }
}

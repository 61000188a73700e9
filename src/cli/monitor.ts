/**
 * `custos alerts`, `custos inventory`, `custos kill` — the monitor from the command line.
 *   alerts list, inventory      fold the trail (offline; --store or --config)
 *   alerts ack, inventory approve, kill set|lift|list
 *                               ask a running Custos, as the admin whose token is given; each change is an admin row
 */
import { createTrailState, foldRow, inventoryToCsv, readInventory } from '../monitor/index.js';
import type { AuditRecord } from '../kernel/index.js';
import type { AlertView, Inventory, KillSwitch } from '../monitor/index.js';
import { adminRequest } from './admin-http.js';
import type { AdminTarget } from './admin-http.js';
import type { CommandContext } from './context.js';
import { openStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';

async function withTrail<T>(opts: StoreOptions, use: (rows: AsyncIterable<AuditRecord>) => Promise<T>): Promise<T> {
  const store = await openStore(opts, { readonly: true });
  try {
    return await use(store.read());
  } finally {
    await store.close();
  }
}

export async function listAlerts(ctx: CommandContext, opts: StoreOptions & { all?: boolean; json?: boolean }): Promise<void> {
  const state = createTrailState();
  await withTrail(opts, async (rows) => {
    for await (const r of rows) foldRow(state, r);
  });
  const alerts = state.alerts.filter((a) => opts.all || !a.acknowledged);
  for (const a of alerts) await ctx.write(opts.json ? `${JSON.stringify(a)}\n` : `${describeAlert(a)}\n`);
  if (!opts.json) ctx.out(`${alerts.length} alert(s)${opts.all ? '' : ' open'}`);
}

function describeAlert(a: AlertView): string {
  const who = [a.user ? `user=${a.user}` : '', a.agent ? `agent=${a.agent}` : '', a.tool ? `tool=${a.tool}` : ''].filter(Boolean).join('  ');
  const ack = a.acknowledged ? `ACKED by ${a.acknowledged.by} (${JSON.stringify(a.acknowledged.note)})` : 'OPEN';
  return `${a.seq}  ${a.time}  ${a.severity.toUpperCase()}  ${a.type}  ${who}  ${ack}`;
}

export async function ackAlert(ctx: CommandContext, seq: number, opts: AdminTarget & { note: string }): Promise<void> {
  const answer = await adminRequest<{ alert: AlertView }>(ctx, opts, 'POST', '/v1/alerts/ack', { seq, note: opts.note });
  if (answer) ctx.out(`alert ${seq} (${answer.alert.type}) acknowledged`);
}

export async function showInventory(ctx: CommandContext, opts: StoreOptions & { format: 'text' | 'json' | 'csv' }): Promise<void> {
  const inventory = await withTrail(opts, (rows) => readInventory(rows, new Date()));
  if (opts.format === 'json') ctx.out(JSON.stringify(inventory, null, 2));
  else if (opts.format === 'csv') ctx.print(inventoryToCsv(inventory));
  else ctx.print(describeInventory(inventory));
}

function describeInventory(inv: Inventory): string {
  const lines: string[] = ['MCP servers'];
  for (const s of inv.servers) {
    lines.push(
      `  ${s.name}  ${s.server_name ?? '?'} ${s.version ?? '?'}  (${s.transport ?? '?'})  calls=${s.calls}  first_seen=${s.first_seen}  last_seen=${s.last_seen}`,
    );
    for (const t of s.tools) lines.push(`    ${t.name}  sha256:${t.hash.slice(0, 16)}…  ${t.status}  calls=${t.calls}`);
  }
  lines.push('Agents');
  for (const a of inv.agents)
    lines.push(
      `  ${a.name}${a.version ? ` ${a.version}` : ''}${a.runtime ? ` (${a.runtime})` : ''}  tiers=${a.tiers.join(',')}  users=${a.users}  calls=${a.calls}  last_seen=${a.last_seen}${a.user_agent ? `  ua="${a.user_agent}"` : ''}${a.sdk ? `  sdk="${a.sdk}"` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

export async function approveTool(ctx: CommandContext, server: string, tool: string, opts: AdminTarget): Promise<void> {
  const answer = await adminRequest<{ hash: string; seq: number }>(ctx, opts, 'POST', '/v1/inventory/tools/approve', { server, tool });
  if (answer) ctx.out(`${server}/${tool} approved: sha256:${answer.hash} (row ${answer.seq})`);
}

export async function setKill(ctx: CommandContext, target: string, opts: AdminTarget & { reason: string }): Promise<void> {
  const answer = await adminRequest<{ kill_switch: KillSwitch }>(ctx, opts, 'POST', '/v1/admin/kill-switches', { target, reason: opts.reason });
  if (answer) ctx.out(`kill switch ${answer.kill_switch.id} on ${answer.kill_switch.target}`);
}

export async function liftKill(ctx: CommandContext, id: string, opts: AdminTarget & { reason: string }): Promise<void> {
  const answer = await adminRequest<{ lifted: { id: string } }>(ctx, opts, 'POST', '/v1/admin/kill-switches/lift', { id, reason: opts.reason });
  if (answer) ctx.out(`kill switch ${answer.lifted.id} lifted`);
}

export async function listKills(ctx: CommandContext, opts: AdminTarget & { json?: boolean }): Promise<void> {
  const answer = await adminRequest<{ kill_switches: KillSwitch[] }>(ctx, opts, 'GET', '/v1/admin/kill-switches');
  if (!answer) return;
  for (const k of answer.kill_switches)
    ctx.out(opts.json ? JSON.stringify(k) : `${k.id}  ${k.target}  set_by=${k.set_by}  at=${k.set_at}  reason=${JSON.stringify(k.reason)}`);
  if (!opts.json) ctx.out(`${answer.kill_switches.length} kill switch(es) in force`);
}

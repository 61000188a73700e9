/**
 * The inventory offline, folded from the trail (`custos inventory`): the servers Custos has
 * seen (serverInfo name and version, transport, each tool with the hash of its approved
 * definition), and the agents (name, runtime, version, tiers) with first and last seen and
 * call counts. The running server's `GET /v1/inventory` adds what its upstreams list now.
 */
import type { AuditRecord } from '../kernel/index.js';
import { agentsOf, createTrailState, foldRow } from './trail-state.js';
import type { Inventory, InventoryServer } from './types.js';

export async function readInventory(rows: AsyncIterable<AuditRecord>, now: Date): Promise<Inventory> {
  const state = createTrailState();
  for await (const r of rows) foldRow(state, r);
  const servers: InventoryServer[] = [...state.servers.values()].map(({ toolCalls, ...s }) => ({
    ...s,
    state: 'unknown',
    tools: [...state.approved]
      .filter(([key]) => key.startsWith(`${s.name}/`))
      .map(([key, approved]) => {
        const name = key.slice(s.name.length + 1);
        return { name, hash: approved.hash, status: 'approved' as const, approved, calls: toolCalls.get(name) ?? 0 };
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
  }));
  return { generated_at: now.toISOString(), servers: servers.sort((a, b) => a.name.localeCompare(b.name)), agents: agentsOf(state) };
}

const csvCell = (v: unknown): string => {
  const text = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** One row per tool and one per agent: `kind,name,server,version,transport_or_runtime,hash_or_tiers,status,first_seen,last_seen,calls,user_agent,sdk`. */
export function inventoryToCsv(inv: Inventory): string {
  const rows: unknown[][] = [
    ['kind', 'name', 'server', 'version', 'transport_or_runtime', 'hash_or_tiers', 'status', 'first_seen', 'last_seen', 'calls', 'user_agent', 'sdk'],
  ];
  for (const s of inv.servers) {
    rows.push(['server', s.server_name ?? s.name, s.name, s.version, s.transport, '', s.state, s.first_seen, s.last_seen, s.calls]);
    for (const t of s.tools) rows.push(['tool', t.name, s.name, s.version, s.transport, t.hash, t.status, '', '', t.calls]);
  }
  for (const a of inv.agents) rows.push(['agent', a.name, '', a.version, a.runtime, a.tiers, '', a.first_seen, a.last_seen, a.calls, a.user_agent, a.sdk]);
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/**
 * What the monitor knows, as a fold over the trail in seq order: kill switches in force,
 * approved tool definitions, alerts and their acknowledgements, servers and agents seen.
 * Every change is a row first (an admin row the API wrote, on any replica), so every replica
 * that folds the same trail knows the same thing, and `custos inventory` can fold it offline.
 */
import type { AuditRecord } from '../kernel/index.js';
import type { AlertView, InventoryAgent, KillSwitch, Severity, ToolDefinitionView } from './types.js';

/** The admin actions the monitor writes and folds (`detail.action`). */
export const MONITOR_ACTIONS = {
  KILL_SWITCH_SET: 'kill_switch_set',
  KILL_SWITCH_LIFTED: 'kill_switch_lifted',
  TOOL_APPROVED: 'tool_definition_approved',
  ALERT_ACKNOWLEDGED: 'alert_acknowledged',
  INVENTORY_CHANGED: 'inventory_changed',
} as const;

/** Most alerts kept in memory for `GET /v1/alerts` (the trail keeps them all). */
const MAX_ALERTS = 1000;

export interface ServerSeen {
  readonly name: string;
  server_name: string | null;
  version: string | null;
  transport: string | null;
  first_seen: string;
  last_seen: string;
  calls: number;
  toolCalls: Map<string, number>;
}

export interface AgentSeen {
  readonly name: string;
  readonly runtime: string | null;
  readonly version: string | null;
  readonly user_agent: string | null;
  readonly sdk: string | null;
  readonly first_seen: string;
  last_seen: string;
  calls: number;
  tiers: Set<string>;
  users: Set<string>;
}

export interface TrailState {
  readonly kills: Map<string, KillSwitch>;
  /** `server/tool` → the approved definition. */
  readonly approved: Map<string, ToolDefinitionView>;
  readonly alerts: AlertView[];
  readonly servers: Map<string, ServerSeen>;
  readonly agents: Map<string, AgentSeen>;
  lastSeq: number;
}

export function createTrailState(): TrailState {
  return { kills: new Map(), approved: new Map(), alerts: [], servers: new Map(), agents: new Map(), lastSeq: 0 };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const userName = (r: AuditRecord): string | null => r.user.sub;

function server(state: TrailState, name: string, time: string): ServerSeen {
  let s = state.servers.get(name);
  if (!s) {
    s = { name, server_name: null, version: null, transport: null, first_seen: time, last_seen: time, calls: 0, toolCalls: new Map() };
    state.servers.set(name, s);
  }
  if (time > s.last_seen) s.last_seen = time;
  return s;
}

function foldAdmin(state: TrailState, r: AuditRecord): void {
  const d = r.detail ?? {};
  switch (d.action) {
    case MONITOR_ACTIONS.KILL_SWITCH_SET:
      if (typeof d.id === 'string' && typeof d.target === 'string')
        state.kills.set(d.id, { id: d.id, target: d.target, reason: str(d.reason) ?? '', set_by: userName(r), set_at: r.time, seq: r.seq });
      return;
    case MONITOR_ACTIONS.KILL_SWITCH_LIFTED:
      if (typeof d.id === 'string') state.kills.delete(d.id);
      return;
    case MONITOR_ACTIONS.TOOL_APPROVED:
      if (typeof d.server === 'string' && typeof d.tool === 'string' && typeof d.hash === 'string')
        state.approved.set(`${d.server}/${d.tool}`, { hash: d.hash, definition: d.definition ?? null, seq: r.seq, time: r.time });
      return;
    case MONITOR_ACTIONS.ALERT_ACKNOWLEDGED: {
      const alert = state.alerts.find((a) => a.seq === d.alert_seq);
      if (alert) Object.assign(alert, { acknowledged: { by: userName(r), at: r.time, note: str(d.note) ?? '', seq: r.seq } });
      return;
    }
    case MONITOR_ACTIONS.INVENTORY_CHANGED:
      if (typeof d.server === 'string') {
        const s = server(state, d.server, r.time);
        s.server_name = str(d.server_name) ?? s.server_name;
        s.version = str(d.version) ?? s.version;
        s.transport = str(d.transport) ?? s.transport;
      }
      return;
  }
}

function foldCall(state: TrailState, r: AuditRecord): void {
  if (r.agent && (r.event === 'intent' || r.event === 'deny' || r.event === 'confirm')) {
    // One entry per agent runtime: its name and clientInfo, and what its HTTP client says (User-Agent, SDK headers).
    const key = JSON.stringify([r.agent.name, r.agent.runtime, r.agent.version, r.agent.user_agent, r.agent.sdk]);
    let a = state.agents.get(key);
    if (!a) {
      a = {
        name: r.agent.name,
        runtime: r.agent.runtime ?? null,
        version: r.agent.version ?? null,
        user_agent: r.agent.user_agent ?? null,
        sdk: r.agent.sdk ?? null,
        tiers: new Set(),
        users: new Set(),
        first_seen: r.time,
        last_seen: r.time,
        calls: 0,
      };
      state.agents.set(key, a);
    }
    a.tiers.add(r.agent.tier);
    if (r.user.sub) a.users.add(`${r.user.iss ?? ''}|${r.user.sub}`);
    a.last_seen = r.time > a.last_seen ? r.time : a.last_seen;
    a.calls++;
  }
  if (r.event === 'intent' && r.tool && r.kind === 'tool') {
    const s = server(state, r.tool.server, r.time);
    s.calls++;
    s.toolCalls.set(r.tool.name, (s.toolCalls.get(r.tool.name) ?? 0) + 1);
  }
}

function foldAlert(state: TrailState, r: AuditRecord): void {
  if (!r.alert) return;
  state.alerts.push({
    seq: r.seq,
    time: r.time,
    type: r.alert.type,
    severity: r.alert.severity as Severity,
    user: r.user.sub,
    ...(r.agent ? { agent: r.agent.name } : {}),
    ...(r.tool ? { tool: `${r.tool.server}/${r.tool.name}` } : {}),
    ...(r.detail ? { detail: r.detail } : {}),
  });
  if (state.alerts.length > MAX_ALERTS) state.alerts.shift();
}

/** Folds one row (rows at or below `lastSeq` were folded already and are skipped). */
export function foldRow(state: TrailState, r: AuditRecord): void {
  if (r.seq <= state.lastSeq) return;
  state.lastSeq = r.seq;
  if (r.event === 'admin') foldAdmin(state, r);
  else if (r.event === 'alert') foldAlert(state, r);
  else if (!r.control_test) foldCall(state, r); // a live control test's rows are evidence, not usage
}

/** The agents seen, as the inventory shows them. */
export function agentsOf(state: TrailState): InventoryAgent[] {
  return [...state.agents.values()]
    .map(({ tiers, users, ...a }) => ({ ...a, tiers: [...tiers].sort(), users: users.size }))
    .sort((a, b) => a.name.localeCompare(b.name) || (a.version ?? '').localeCompare(b.version ?? ''));
}

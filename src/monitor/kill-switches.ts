/**
 * Kill switches: a target string names what is stopped, and `matchKill` finds the switch in
 * force that stops a call. Targets: `agent:NAME`, `tool:SERVER/NAME`, `upstream:SERVER`,
 * `user:SUB` (every call any agent makes for that user).
 */
import { CustosError } from '../kernel/index.js';
import type { KillSwitchHit, ToolCall } from '../kernel/index.js';
import type { KillSwitch, KillTarget } from './types.js';

export function formatKillTarget(t: KillTarget): string {
  switch (t.kind) {
    case 'agent':
      return `agent:${t.name}`;
    case 'tool':
      return `tool:${t.server}/${t.name}`;
    case 'upstream':
      return `upstream:${t.server}`;
    case 'user':
      return `user:${t.sub}`;
  }
}

/** Parses `agent:NAME`, `tool:SERVER/NAME`, `upstream:SERVER` or `user:SUB`; ERR_GATEWAY_BAD_REQUEST otherwise. */
export function parseKillTarget(text: string): KillTarget {
  const i = text.indexOf(':');
  const kind = text.slice(0, i);
  const rest = text.slice(i + 1);
  const slash = rest.indexOf('/');
  if (i > 0 && rest.length > 0) {
    if (kind === 'agent') return { kind, name: rest };
    if (kind === 'upstream' && slash < 0) return { kind, server: rest };
    if (kind === 'user') return { kind, sub: rest };
    if (kind === 'tool' && slash > 0 && slash < rest.length - 1) return { kind, server: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }
  throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'A kill switch target is agent:NAME, tool:SERVER/NAME, upstream:SERVER or user:SUB.');
}

/** The targets that would stop this call. */
function targetsOf(call: ToolCall): string[] {
  const out = [`agent:${call.agent.name}`, `upstream:${call.tool.server}`];
  if (call.kind === 'tool') out.push(`tool:${call.tool.server}/${call.tool.name}`);
  if (call.principal) out.push(`user:${call.principal.sub}`);
  return out;
}

/** The oldest switch in force that stops this call. */
export function matchKill(kills: ReadonlyMap<string, KillSwitch>, call: ToolCall): KillSwitchHit | undefined {
  if (kills.size === 0) return undefined;
  const targets = new Set(targetsOf(call));
  for (const k of kills.values()) if (targets.has(k.target)) return { id: k.id, target: k.target, reason: k.reason };
  return undefined;
}

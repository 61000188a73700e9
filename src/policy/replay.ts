/**
 * Decision replay for `custos policy diff`: the decision rows of recent calls carry what Cedar
 * was asked (`detail.decision_input` plus the row's user, agent, tool and data classes); each
 * call is decided again under both bundles, and the calls whose decision changes are listed.
 */
import type { ActivePolicy, AuditRecord, DecisionInput, DecisionValue, PolicyAction, Tier } from '../kernel/index.js';

export interface ReplayedChange {
  readonly seq: number;
  readonly requestId: string;
  readonly time: string;
  readonly user: string;
  readonly tool: string;
  readonly before: { readonly decision: DecisionValue; readonly reasons: readonly string[] };
  readonly after: { readonly decision: DecisionValue; readonly reasons: readonly string[] };
}

const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The decision input a row recorded, without the tool classes (each bundle classifies the tool itself); undefined for rows without one. */
export function recordedInput(r: AuditRecord): Omit<DecisionInput, 'toolClasses'> | undefined {
  const di = r.detail?.decision_input as Record<string, unknown> | undefined;
  if (!di || !r.user.sub || !r.agent || !r.tool || !['intent', 'deny', 'confirm'].includes(r.event)) return undefined;
  const chain = r.agent.delegation_chain.filter((l) => !l.startsWith('tool:'));
  const user = strs(di.user_scopes);
  const delegated = di.delegated_scopes === undefined ? user : strs(di.delegated_scopes);
  const held = new Set(delegated);
  return {
    action: di.action as PolicyAction,
    principal: {
      sub: r.user.sub,
      iss: r.user.iss ?? '',
      roles: strs(di.roles),
      groups: strs(di.groups),
      ...(typeof di.tenant === 'string' ? { tenant: di.tenant } : {}),
    },
    agent: { name: r.agent.name, tier: r.agent.tier as Tier, delegationChain: chain },
    tool: { server: r.tool.server, name: r.tool.name },
    dataClasses: r.data_classes ?? [],
    resourceTenants: strs(di.resource_tenants),
    emergency: di.emergency === true,
    scopes: { user, delegated, effective: user.filter((s) => held.has(s)) },
  };
}

/** Every recorded call (its first decision row) whose decision differs between the two bundles. */
export function replayDecisions(records: Iterable<AuditRecord>, before: ActivePolicy, after: ActivePolicy): { replayed: number; changes: ReplayedChange[] } {
  const seen = new Set<string>();
  const changes: ReplayedChange[] = [];
  let replayed = 0;
  for (const r of records) {
    const input = recordedInput(r);
    if (!input || seen.has(r.request_id)) continue;
    seen.add(r.request_id);
    replayed++;
    const a = before.decide({ ...input, toolClasses: before.classifyTool(input.tool).classes });
    const b = after.decide({ ...input, toolClasses: after.classifyTool(input.tool).classes });
    if (a.decision === b.decision) continue;
    changes.push({
      seq: r.seq,
      requestId: r.request_id,
      time: r.time,
      user: input.principal.sub,
      tool: `${input.tool.server}/${input.tool.name}`,
      before: { decision: a.decision, reasons: a.reasons },
      after: { decision: b.decision, reasons: b.reasons },
    });
  }
  return { replayed, changes };
}

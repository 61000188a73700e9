/**
 * The console's read side (issue 17): what `GET /v1/policy`, `GET /v1/live` and
 * `GET /v1/audit/verify` answer, from the trail and the activator, and where the built
 * web app lives. The gateway enforces who may read (src/gateway/http/console-api.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { proveInclusion, verifyChain, verifyProof } from '../audit/index.js';
import type { AuditStoreAdmin, CheckpointSigner } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import type { ConsolePort } from '../gateway/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { diffVersions, listVersions } from '../policy/index.js';
import type { Activator, LoadedBundle } from '../policy/index.js';

/** The live view reads at most this many of the newest rows. */
export const LIVE_MAX_ROWS = 50_000;
const POLICY_ACTIONS = new Set(['policy_activated', 'policy_refused', 'policy_rollback_authorized']);
const SHADOW_DISAGREEMENT = 'policy_shadow_disagreement';

/** dist/console beside the package.json above this file (src/app or dist/src/app). */
export function defaultConsoleDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve('dist/console');
    dir = up;
  }
  return path.join(dir, 'dist/console');
}

function bundleView(b: LoadedBundle) {
  return { hash: b.bundleHash, name: b.info.name, version: b.info.version, mode: b.info.mode, files: b.manifest.length, policies: [...b.policyIds] };
}

const actionOf = (r: AuditRecord): unknown => (r.event === 'admin' ? r.detail?.action : undefined);

/** One bucket a minute: decisions by outcome and tier, denies by tool, redactions by type, alerts by rule, top users and agents. */
export function liveAggregates(records: Iterable<AuditRecord>, since: Date) {
  const minutes = new Map<string, Record<string, number>>();
  const count = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  const tiers = new Map<string, number>();
  const toolCalls = new Map<string, number>();
  const toolDenies = new Map<string, number>();
  const redactions = new Map<string, number>();
  const alerts = new Map<string, number>();
  const users = new Map<string, number>();
  const agents = new Map<string, number>();
  for (const r of records) {
    if (r.control_test || r.time < since.toISOString()) continue; // control-test rows are not traffic
    if (r.event === 'alert' && r.alert) count(alerts, r.alert.type);
    if (r.event !== 'intent' && r.event !== 'deny' && r.event !== 'confirm') continue;
    const minute = `${r.time.slice(0, 16)}Z`;
    const bucket = minutes.get(minute) ?? { allow: 0, deny: 0, confirm: 0 };
    const outcome = r.event === 'intent' ? 'allow' : r.event;
    bucket[outcome] = (bucket[outcome] ?? 0) + 1;
    minutes.set(minute, bucket);
    if (r.agent) count(tiers, `${r.agent.tier} ${outcome}`);
    const tool = r.tool ? `${r.tool.server}/${r.tool.name}` : '(none)';
    count(toolCalls, tool);
    if (r.event === 'deny') count(toolDenies, tool);
    for (const t of r.redactions.types) count(redactions, t);
    count(users, r.user.email ?? r.user.sub ?? '(anonymous)');
    if (r.agent) count(agents, r.agent.name);
  }
  const top = (m: Map<string, number>, n = 10) =>
    [...m]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, n)
      .map(([name, value]) => ({ name, value }));
  return {
    since: since.toISOString(),
    decisions: [...minutes].sort((a, b) => a[0].localeCompare(b[0])).map(([minute, c]) => ({ minute, ...c })),
    by_tier: top(tiers, 50),
    deny_rate: [...toolCalls]
      .map(([name, calls]) => ({ name, calls, denies: toolDenies.get(name) ?? 0, rate: (toolDenies.get(name) ?? 0) / calls }))
      .sort((a, b) => b.rate - a.rate || b.calls - a.calls)
      .slice(0, 20),
    redactions: top(redactions, 20),
    alerts: top(alerts, 20),
    users: top(users),
    agents: top(agents),
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) out.push(i);
  return out;
}

/** Rows 1..seq as stored, for verifying the chain up to one row. */
async function* upTo<T extends { seq: number }>(rows: AsyncIterable<T>, seq: number): AsyncIterable<T> {
  for await (const r of rows) {
    yield r;
    if (r.seq >= seq) return;
  }
}

export function createConsolePort(
  config: ResolvedConfig,
  deps: { store: AuditStoreAdmin; activator: () => Activator; signer?: CheckpointSigner; resourceUrl: string; now?: () => Date },
): ConsolePort | undefined {
  const settings = config.console;
  if (!settings.enabled) return undefined;
  const issuer = config.identity.issuers[0]?.issuer;
  const now = deps.now ?? (() => new Date());
  const keys = deps.signer ? new Map([[deps.signer.keyId, deps.signer.publicKey]]) : undefined;
  return {
    roles: settings.roles,
    staticDir: defaultConsoleDir(),
    client: { issuer: issuer ?? '', clientId: settings.clientId, scope: settings.scope, resource: deps.resourceUrl },
    async policy() {
      const activator = deps.activator();
      const shadow = activator.shadow();
      const history: unknown[] = [];
      const disagreements: unknown[] = [];
      for await (const r of deps.store.read()) {
        if (POLICY_ACTIONS.has(String(actionOf(r)))) history.push({ seq: r.seq, time: r.time, by: r.user.sub, ...r.detail });
        else if (r.event === 'alert' && r.alert?.type === SHADOW_DISAGREEMENT)
          disagreements.push({ seq: r.seq, time: r.time, user: r.user.email ?? r.user.sub, tool: r.tool, detail: r.detail });
      }
      return { enforced: bundleView(activator.enforced()), shadow: shadow ? bundleView(shadow) : null, history, disagreements };
    },
    policyVersions: async () => ({ versions: await listVersions(config.policy.stateDir) }),
    policyDiff: (from, to) => diffVersions(config.policy.stateDir, from, to),
    async live(minutes) {
      const head = await deps.store.head();
      const rows = deps.store.read({ fromSeq: Math.max(1, head.seq - LIVE_MAX_ROWS + 1) });
      return liveAggregates(await collect(rows), new Date(now().getTime() - minutes * 60_000));
    },
    async verifyRow(seq) {
      const chain = await verifyChain(upTo(deps.store.readRaw(), seq));
      const chainView =
        chain.ok && (chain.head?.seq ?? 0) >= seq
          ? { status: 'verified', rows: chain.count }
          : { status: chain.ok ? 'no_such_row' : 'broken', first_broken_seq: chain.firstBrokenSeq ?? null, reason: chain.reason ?? null };
      if (!deps.signer) return { seq, chain: chainView, checkpoint: { status: 'not_configured' }, proof: { status: 'not_configured' } };
      const proved = await proveInclusion(deps.store, seq);
      if (!proved.ok)
        return {
          seq,
          chain: chainView,
          checkpoint: { status: proved.reason, latest_tree_size: proved.latestTreeSize ?? null },
          proof: { status: proved.reason },
        };
      const checked = verifyProof(proved.proof, keys!);
      const c = proved.proof.checkpoint;
      return {
        seq,
        chain: chainView,
        checkpoint: { status: 'signed', seq: c.seq, tree_size: c.tree_size, key_id: c.key_id, root_hash: c.root_hash },
        proof: { status: checked.ok ? 'verified' : 'failed', reason: checked.reason ?? null, inclusion_path: proved.proof.inclusion_path },
      };
    },
  };
}

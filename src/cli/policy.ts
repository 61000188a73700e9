/**
 * `custos policy …`, loaded when one of them runs: init, hash, validate, test, sign, keygen,
 * diff, log and rollback. Bundle formats: docs/policy.md and docs/policy-bundles.md.
 */
import { randomUUID, generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { CustosError, createPipeline, isCustosError } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { computeBundleHash, diffBundles, loadBundle, replayDecisions, runBundleTests, signBundleHash, writeApproval } from '../policy/index.js';
import type { LoadedBundle } from '../policy/index.js';
import type { CommandContext } from './context.js';
import { openStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';

export async function hashBundle(ctx: CommandContext, dir: string, opts: { manifest?: boolean }): Promise<void> {
  const { bundleHash, manifestText } = await computeBundleHash(dir);
  if (opts.manifest) ctx.print(manifestText);
  ctx.out(bundleHash);
}

/** Loads a bundle; on ERR_POLICY_BUNDLE_INVALID prints every problem (file:line:col: …) and returns undefined. */
async function loadOrReport(ctx: CommandContext, dir: string): Promise<LoadedBundle | undefined> {
  try {
    return await loadBundle(dir);
  } catch (err) {
    if (!isCustosError(err) || err.code !== 'ERR_POLICY_BUNDLE_INVALID' || !Array.isArray(err.detail?.problems)) throw err;
    for (const problem of err.detail.problems as string[]) ctx.err(problem);
    ctx.err(`custos: bundle invalid: ${err.detail.problems.length} problem(s)`);
    ctx.exitCode = 1;
    return undefined;
  }
}

export async function validateBundle(ctx: CommandContext, dir: string): Promise<void> {
  const bundle = await loadOrReport(ctx, dir);
  if (!bundle) return;
  ctx.out(
    `bundle ok: ${bundle.info.name} version ${bundle.info.version} (${bundle.info.mode}), ${bundle.policyIds.length} policies, ${bundle.tests.length} test case(s), sha256:${bundle.bundleHash}`,
  );
}

export async function testBundle(ctx: CommandContext, dir: string): Promise<void> {
  const bundle = await loadOrReport(ctx, dir);
  if (!bundle) return;
  const results = runBundleTests(bundle);
  for (const r of results) {
    if (r.passed) ctx.out(`ok    ${r.file}: ${r.name}`);
    else ctx.out(`FAIL  ${r.file}: ${r.name}: expected ${r.expected}, got ${r.actual} (${r.reasons.join(', ')})`);
  }
  const failed = results.filter((r) => !r.passed).length;
  ctx.out(`${results.length - failed} passed, ${failed} failed`);
  if (failed > 0 || results.length === 0) ctx.exitCode = 1;
}

export async function signBundle(ctx: CommandContext, dir: string, opts: { key: string; id: string }): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { bundleHash } = await computeBundleHash(dir);
  const pem = await readFile(opts.key, 'utf8').catch((err: unknown) => {
    throw new CustosError('ERR_POLICY_APPROVAL_INVALID', 'The signing key file cannot be read; give --key PATH to an Ed25519 PKCS#8 PEM.', { cause: err });
  });
  const path = await writeApproval(dir, opts.id, signBundleHash(bundleHash, pem));
  ctx.out(`${opts.id} approved sha256:${bundleHash} (${path})`);
}

export async function keygen(ctx: CommandContext, opts: { out: string }): Promise<void> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  await writeFile(`${opts.out}.pem`, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await writeFile(`${opts.out}.pub.pem`, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
  ctx.out(`private key ${opts.out}.pem (keep it to yourself), public key ${opts.out}.pub.pem (for policy.approvers)`);
}

async function readTrail(opts: StoreOptions): Promise<AuditRecord[]> {
  const store = await openStore(opts);
  const out: AuditRecord[] = [];
  try {
    for await (const r of store.read()) out.push(r);
  } finally {
    await store.close();
  }
  return out;
}

export async function diffBundle(ctx: CommandContext, oldDir: string, newDir: string, opts: StoreOptions & { limit: number; json?: boolean }): Promise<void> {
  const [before, after] = [await loadOrReport(ctx, oldDir), await loadOrReport(ctx, newDir)];
  if (!before || !after) return;
  const changes = diffBundles(before, after);
  const trail = await readTrail(opts);
  const recent = trail.filter((r) => r.detail?.decision_input !== undefined).slice(-opts.limit);
  const { replayed, changes: calls } = replayDecisions(recent, before.policy, after.policy);
  if (opts.json) {
    await ctx.write(`${JSON.stringify({ old: before.bundleHash, new: after.bundleHash, ...changes, replayed, calls })}\n`);
    return;
  }
  ctx.out(`${before.info.name} ${before.info.version} sha256:${before.bundleHash}  →  ${after.info.name} ${after.info.version} sha256:${after.bundleHash}`);
  for (const [kind, c] of [
    ['file', changes.files],
    ['policy', changes.policies],
  ] as const) {
    for (const x of c.added) ctx.out(`+ ${kind} ${x}`);
    for (const x of c.removed) ctx.out(`- ${kind} ${x}`);
    for (const x of c.changed) ctx.out(`~ ${kind} ${x}`);
  }
  ctx.out(`decision diff: ${calls.length} of ${replayed} recorded call(s) change`);
  for (const c of calls) {
    ctx.out(`  seq ${c.seq}  ${c.time}  ${c.user}  ${c.tool}  ${c.before.decision} → ${c.after.decision}  (${c.after.reasons.join(', ')})`);
  }
}

const POLICY_ACTIONS = new Set(['policy_activated', 'policy_refused', 'policy_rollback_authorized']);

export async function policyLog(ctx: CommandContext, opts: StoreOptions & { json?: boolean }): Promise<void> {
  const rows = (await readTrail(opts)).filter((r) => r.event === 'admin' && POLICY_ACTIONS.has(String(r.detail?.action)));
  for (const r of rows) {
    const d = r.detail ?? {};
    if (opts.json) {
      await ctx.write(`${JSON.stringify({ seq: r.seq, time: r.time, ...d })}\n`);
      continue;
    }
    const approvers = Array.isArray(d.approvers) ? d.approvers.join(',') : '';
    if (d.action === 'policy_activated')
      ctx.out(
        `${r.time}  seq ${r.seq}  activated  ${d.name} v${d.version} (${d.mode})  ${short(d.old_hash)} → ${short(d.new_hash)}  author=${d.author ?? '-'}  approvers=${approvers || '-'}  ${d.approvals}${d.emergency ? '  EMERGENCY' : ''}  via ${d.trigger}${d.commit ? ` ${String(d.commit).slice(0, 12)}` : ''}`,
      );
    else if (d.action === 'policy_refused')
      ctx.out(`${r.time}  seq ${r.seq}  refused    ${short(d.candidate_hash)}  reason=${d.reason}  in force ${short(d.in_force)}  via ${d.trigger}`);
    else ctx.out(`${r.time}  seq ${r.seq}  rollback authorized to ${short(d.bundle_hash)} by ${r.user.sub}`);
  }
  if (!opts.json) ctx.out(`${rows.length} policy event(s)`);
}

function short(hash: unknown): string {
  return typeof hash === 'string' ? hash.slice(0, 12) : '-';
}

/** Authorizes going back to exactly the bundle in DIR (an audited admin row); the running Custos activates it when its source offers it. */
export async function rollbackBundle(ctx: CommandContext, dir: string, opts: StoreOptions & { by: string; reason?: string }): Promise<void> {
  const bundle = await loadOrReport(ctx, dir);
  if (!bundle) return;
  const store = await openStore(opts);
  try {
    const { createProtector } = await import('../protect/index.js');
    const recorder = createPipeline({
      policy: { current: () => bundle.policy },
      protector: createProtector(),
      audit: store,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    const principal = { sub: opts.by, iss: 'custos:cli', roles: [], groups: [] };
    const row = await recorder.recordAdmin({
      action: 'policy_rollback_authorized',
      principal,
      detail: { bundle_hash: bundle.bundleHash, name: bundle.info.name, version: bundle.info.version, reason: opts.reason ?? null },
    });
    ctx.out(
      `rollback to ${bundle.info.name} v${bundle.info.version} sha256:${bundle.bundleHash} authorized (seq ${row.seq}); Custos activates it when its source offers it`,
    );
  } finally {
    await store.close();
  }
}

export async function initBundle(ctx: CommandContext, dir: string, opts: { config: string }): Promise<void> {
  const { loadConfig } = await import('../config/index.js');
  const { createLogger, listUpstreamTools } = await import('../app/index.js');
  const { assertNewBundleDir, writeStarterBundle } = await import('../policy/index.js');
  assertNewBundleDir(dir); // before the upstreams are started
  const listed = await listUpstreamTools(loadConfig(opts.config), createLogger('error'));
  const tools = listed.map(({ server, tool }) => ({
    server,
    name: tool.name,
    annotations: tool.annotations as { readOnlyHint?: unknown; destructiveHint?: unknown } | undefined,
  }));
  await writeStarterBundle(dir, tools);
  ctx.out(
    `starter bundle written to ${dir}: ${tools.length} tool(s) from ${new Set(tools.map((t) => t.server)).size} upstream(s); review catalog.yaml and policies/ before use`,
  );
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AdminInput, AlertInput } from '../kernel/index.js';
import { chooseStartBundle, createActivator, createPolicySource, keepLastGood, loadBundle } from './index.js';
import type { ActivationSettings } from './index.js';
import { approveBundle, copyQuickstart, makeApprover, makeInput, writeManifest } from './bundles.test-support.js';

const alice = makeApprover('alice');
const bob = makeApprover('bob');
const carol = makeApprover('carol');

function recorder() {
  const admin: AdminInput[] = [];
  const alerts: AlertInput[] = [];
  return { admin, alerts, recordAdmin: async (a: AdminInput) => void admin.push(a), recordAlert: async (a: AlertInput) => void alerts.push(a) };
}

async function settings(overrides: Partial<ActivationSettings['approvals']> = {}): Promise<ActivationSettings> {
  return {
    approvals: { requiredApprovals: 1, approvers: [alice, bob, carol].map(({ id, publicKey }) => ({ id, publicKey })), allowEmergency: false, ...overrides },
    stateDir: await mkdtemp(join(tmpdir(), 'custos-state-')),
  };
}

/** A quick-start copy at `version` authored by alice, with `extra` policy text, signed by `signers`. */
async function candidate(version: number, signers: ReturnType<typeof makeApprover>[], manifest: Record<string, unknown> = {}, extra = ''): Promise<string> {
  const dir = await copyQuickstart();
  await writeManifest(dir, { name: 'quickstart', version, author: 'alice', ...manifest });
  if (extra) await writeFile(join(dir, 'policies', 'extra.cedar'), extra);
  await approveBundle(dir, ...signers);
  return dir;
}

const FORBID_BOB = '@id("no-bob")\n@reason("bob_blocked")\nforbid (principal == Custos::User::"bob", action, resource);\n';

describe('live activation and the two-person rule', () => {
  it('refuses a bundle signed by its author alone (rows: refusal and alert), keeps the old one, then activates it with a second approver', async () => {
    const s = await settings();
    const start = await chooseStartBundle(await candidate(1, [alice, bob]), s);
    const source = createPolicySource(start.bundle.policy);
    const rec = recorder();
    const activator = createActivator(start.bundle, { ...s, source, recorder: rec });
    const bobRead = makeInput({ sub: 'bob', roles: ['billing'] });
    expect(source.current().decide(bobRead).decision).toBe('allow');

    const next = await candidate(2, [alice], {}, FORBID_BOB);
    const refused = await activator.offer(next, { trigger: 'watch' });
    expect(refused).toMatchObject({ status: 'refused', reason: 'approvals_insufficient' });
    expect(source.current().bundleHash).toBe(start.bundle.bundleHash);
    expect(source.current().decide(bobRead).decision).toBe('allow');
    expect(rec.admin).toEqual([expect.objectContaining({ action: 'policy_refused', decision: 'deny', reasons: ['policy_refused', 'approvals_insufficient'] })]);
    expect(rec.alerts).toEqual([expect.objectContaining({ type: 'policy_refused', severity: 'high' })]);
    // The same refusal is not written again on every poll.
    await activator.offer(next, { trigger: 'watch' });
    expect(rec.admin).toHaveLength(1);

    await approveBundle(next, bob);
    const activated = await activator.offer(next, { trigger: 'watch' });
    expect(activated.status).toBe('activated');
    expect(source.current().info).toMatchObject({ version: 2 });
    expect(source.current().decide(bobRead)).toMatchObject({ decision: 'deny', reasons: ['bob_blocked'] });
    const row = rec.admin[1]!;
    expect(row.action).toBe('policy_activated');
    expect(row.detail).toMatchObject({
      old_hash: start.bundle.bundleHash,
      new_hash: source.current().bundleHash,
      version: 2,
      old_version: 1,
      author: 'alice',
      approvers: ['bob'],
      approvals: 'verified',
      changes: { policies_added: ['no-bob'], files_added: 1, files_changed: 1 },
    });
  });

  it('refuses a forged or unknown signature, an unsigned author and a missing author', async () => {
    const s = await settings();
    const mallory = makeApprover('mallory');
    for (const [signers, manifest, reason] of [
      [[alice, mallory], {}, 'approvals_insufficient'],
      [[bob, carol], {}, 'author_not_signed'],
      [[alice, bob], { author: undefined }, 'author_missing'],
    ] as const) {
      const dir = await candidate(1, [...signers], manifest);
      await expect(chooseStartBundle(dir, s)).rejects.toMatchObject({ code: 'ERR_POLICY_BUNDLE_REFUSED', detail: { reason } });
    }
    // bob's key signing as carol is not carol's approval.
    const dir = await candidate(1, [alice]);
    const { signBundleHash, writeApproval } = await import('./approvals.js');
    const { bundleHash } = await loadBundle(dir);
    await writeApproval(dir, 'carol', signBundleHash(bundleHash, bob.privateKey));
    await expect(chooseStartBundle(dir, s)).rejects.toMatchObject({ detail: { reason: 'approvals_insufficient' } });
  });

  it('needs requiredApprovals distinct approvers besides the author', async () => {
    const s = await settings({ requiredApprovals: 2 });
    await expect(chooseStartBundle(await candidate(1, [alice, bob]), s)).rejects.toMatchObject({ detail: { reason: 'approvals_insufficient' } });
    expect((await chooseStartBundle(await candidate(1, [alice, bob, carol]), s)).verdict).toMatchObject({ approvers: ['bob', 'carol'] });
  });

  it('refuses a lower or reused version unless a rollback to exactly that bundle was authorized', async () => {
    const s = await settings();
    const v1 = await candidate(1, [alice, bob]);
    const v2 = await candidate(2, [alice, bob], {}, FORBID_BOB);
    const start = await chooseStartBundle(v2, s);
    const source = createPolicySource(start.bundle.policy);
    const rec = recorder();
    const allowed = new Set<string>();
    const activator = createActivator(start.bundle, { ...s, source, recorder: rec, rollbackAuthorized: async (h) => allowed.has(h) });
    expect(await activator.offer(v1, { trigger: 'git' })).toMatchObject({ status: 'refused', reason: 'version_lower' });
    const reused = await candidate(2, [alice, bob], { description: 'other bytes' });
    expect(await activator.offer(reused, { trigger: 'git' })).toMatchObject({ status: 'refused', reason: 'version_reused' });
    allowed.add((await loadBundle(v1)).bundleHash);
    expect(await activator.offer(v1, { trigger: 'git' })).toMatchObject({ status: 'activated' });
    expect(rec.admin.at(-1)).toMatchObject({ action: 'policy_activated', detail: { trigger: 'rollback', version: 1, old_version: 2 } });
  });

  it('keeps the last good bundle on disk: a restart with a refused bundle starts with it', async () => {
    const s = await settings();
    const good = await chooseStartBundle(await candidate(3, [alice, bob]), s);
    await keepLastGood(s.stateDir, good.bundle);
    const bad = await candidate(4, [alice]);
    const restarted = await chooseStartBundle(bad, s);
    expect(restarted.bundle.bundleHash).toBe(good.bundle.bundleHash);
    expect(restarted.refused).toMatchObject({ reason: 'approvals_insufficient' });
    const broken = await candidate(5, [alice, bob]);
    await rm(join(broken, 'catalog.yaml'));
    expect((await chooseStartBundle(broken, s)).refused).toMatchObject({ reason: 'bundle_invalid', problems: ['catalog.yaml: missing'] });
  });

  it('emergency: one approver only where the config allows it, and every decision is flagged', async () => {
    const dir = await candidate(1, [alice], { emergency: true });
    await expect(chooseStartBundle(dir, await settings())).rejects.toMatchObject({ detail: { reason: 'emergency_not_allowed' } });
    const start = await chooseStartBundle(dir, await settings({ allowEmergency: true }));
    expect(start.verdict).toMatchObject({ emergency: true, approvers: [] });
    expect(start.bundle.policy.decide(makeInput())).toMatchObject({ decision: 'allow', emergencyChange: true });
  });

  it('shadow: a shadow-mode bundle (under the same rule) is set beside the enforced one, never swapped in', async () => {
    const s = await settings();
    const start = await chooseStartBundle(await candidate(1, [alice, bob]), s);
    const source = createPolicySource(start.bundle.policy);
    const rec = recorder();
    const activator = createActivator(start.bundle, { ...s, source, recorder: rec });
    expect(await activator.offer(await candidate(2, [alice], { mode: 'shadow' }, FORBID_BOB), { trigger: 'watch' })).toMatchObject({
      reason: 'approvals_insufficient',
    });
    expect(source.shadow()).toBeUndefined();
    await activator.offer(await candidate(2, [alice, bob], { mode: 'shadow' }, FORBID_BOB), { trigger: 'watch' });
    expect(source.current().bundleHash).toBe(start.bundle.bundleHash);
    expect(source.shadow()?.info).toMatchObject({ mode: 'shadow', version: 2 });
    expect(rec.admin.at(-1)).toMatchObject({ action: 'policy_activated', detail: { mode: 'shadow' } });
  });
});

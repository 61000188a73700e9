/**
 * Live activation through the real stack (dev IdP, Custos, the filesystem MCP server):
 * a bundle signed by its author alone is refused while the old one keeps deciding; with a
 * second approver it activates without a restart and the next call's row pins the new hash.
 * A git-followed bundle: a new approved commit activates within seconds, an older version is
 * refused, and `custos policy log` shows both with their approvers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { approveBundle, copyQuickstart, makeApprover, writeManifest } from '../../src/policy/bundles.test-support.js';
import { runCliCaptured } from '../../src/cli/cli.test-support.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { startHarness, until } from './harness.js';
import type { Harness } from './harness.js';

const alice = makeApprover('alice');
const bob = makeApprover('bob');
const approvers = [alice, bob].map(({ id, publicKey }) => ({ id, publicKey }));
const FORBID_BOB = '@id("no-bob")\n@reason("bob_blocked")\nforbid (principal == Custos::User::"bob", action == Custos::Action::"call_tool", resource);\n';

const admin = (action: string) => (rows: AuditRecord[]) => rows.filter((r) => r.event === 'admin' && r.detail?.action === action);

async function readAsBob(h: Harness) {
  const client = await h.connect(await h.token('bob'));
  const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, 'notes/handbook.md') } });
  await client.close();
  const rows = await h.auditRecords();
  return { result, row: rows.filter((r) => r.user.sub === 'bob' && (r.event === 'intent' || r.event === 'deny')).at(-1)! };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('live policy activation', () => {
  it('refuses the author alone, keeps deciding with the old bundle, then activates with a second approver without a restart', async () => {
    const dir = await copyQuickstart();
    await writeManifest(dir, { name: 'quickstart', version: 1, author: 'alice' });
    const v1 = await approveBundle(dir, alice, bob);
    h = await startHarness({ bundleDir: dir, configure: (raw) => ({ ...raw, policy: { ...raw.policy, approvers, pollMs: 200 } }) });
    expect(h.custos.bundleHash).toBe(v1);
    expect((await readAsBob(h)).row).toMatchObject({ event: 'intent', policy: { bundle_hash: v1 } });

    await writeManifest(dir, { name: 'quickstart', version: 2, author: 'alice' });
    writeFileSync(path.join(dir, 'policies', 'no-bob.cedar'), FORBID_BOB);
    const { rm } = await import('node:fs/promises');
    await rm(path.join(dir, '.approvals'), { recursive: true });
    const v2 = await approveBundle(dir, alice);
    // The poller may catch the bundle between the approvals' removal and alice's signature (then refused as
    // `author_not_signed` first): the refusal this step is about is the one with alice's signature alone.
    const refusal = await until(h, (rows) => admin('policy_refused')(rows).find((r) => r.detail?.reason === 'approvals_insufficient'));
    expect(refusal).toMatchObject({ policy: { decision: 'deny' }, detail: { candidate_hash: v2, reason: 'approvals_insufficient', in_force: v1 } });
    // The alert row is appended right after the refusal row: wait for it too.
    expect(await until(h, (rows) => rows.find((r) => r.event === 'alert' && r.alert?.type === 'policy_refused'))).toBeDefined();
    expect((await readAsBob(h)).row).toMatchObject({ event: 'intent', policy: { bundle_hash: v1 } });

    await approveBundle(dir, bob);
    const activation = await until(h, (rows) => admin('policy_activated')(rows).find((r) => r.detail?.new_hash === v2));
    expect(activation.detail).toMatchObject({ old_hash: v1, version: 2, old_version: 1, author: 'alice', approvers: ['bob'], trigger: 'watch' });
    const after = await readAsBob(h);
    expect(after.result.isError).toBe(true);
    expect(after.row).toMatchObject({ event: 'deny', user: { sub: 'bob' }, policy: { bundle_hash: v2, reasons: ['bob_blocked'] } });
  }, 120_000);

  it('follows a git branch: a new approved version activates within seconds, an older one is refused; policy log shows both', async () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'custos-policy-git-'));
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
    git('init', '--quiet', '--initial-branch=policy');
    git('config', 'user.email', 'alice@example.com');
    git('config', 'user.name', 'alice');
    const commitBundle = async (version: number, extra?: string): Promise<string> => {
      const dir = await copyQuickstart();
      await writeManifest(dir, { name: 'quickstart', version, author: 'alice' });
      if (extra) writeFileSync(path.join(dir, 'policies', 'extra.cedar'), extra);
      const hash = await approveBundle(dir, alice, bob);
      execFileSync('sh', ['-c', `rm -rf "${repo}/bundle" && cp -r "${dir}" "${repo}/bundle"`]);
      git('add', '-A');
      git('commit', '--quiet', '-m', `bundle v${version}`);
      return hash;
    };
    const v1 = await commitBundle(1);
    h = await startHarness({
      configure: (raw) => ({ ...raw, policy: { git: { repo, branch: 'policy', path: 'bundle' }, approvers, pollMs: 200 } }),
    });
    expect(h.custos.bundleHash).toBe(v1);
    const v2 = await commitBundle(2, FORBID_BOB);
    const committed = Date.now();
    const activation = await until(h, (rows) => admin('policy_activated')(rows).find((r) => r.detail?.new_hash === v2));
    expect(Date.now() - committed).toBeLessThan(30_000);
    expect(activation.detail).toMatchObject({ trigger: 'git', version: 2, approvers: ['bob'], commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect((await readAsBob(h)).row).toMatchObject({ event: 'deny', policy: { bundle_hash: v2 } });

    const older = await commitBundle(1, '@id("other")\nforbid (principal, action, resource) when { false };\n');
    const refusal = await until(h, (rows) => admin('policy_refused')(rows).find((r) => r.detail?.candidate_hash === older));
    expect(refusal.detail).toMatchObject({ reason: 'version_lower', in_force: v2 });
    expect((await readAsBob(h)).row.policy.bundle_hash).toBe(v2);

    const log = await runCliCaptured(['policy', 'log', '--store', h.storeUri]);
    expect(log.out).toMatch(/activated +quickstart v2 \(enforce\) .*author=alice +approvers=bob +verified +via git [0-9a-f]{12}/);
    expect(log.out).toMatch(/refused +\w{12} +reason=version_lower/);
  }, 120_000);
});

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import { createPipeline } from '../kernel/index.js';
import type { ToolCall } from '../kernel/index.js';
import { createActivator, createPolicySource, loadBundle } from '../policy/index.js';
import { createProtector } from '../protect/index.js';
import { runCliCaptured } from './cli.test-support.js';
import { approveBundle, copyQuickstart, makeApprover, writeManifest } from '../policy/bundles.test-support.js';

const FORBID_BOB_WRITES =
  '@id("no-bob-notes")\n@reason("bob_blocked")\nforbid (principal == Custos::User::"bob", action == Custos::Action::"call_tool", resource == Custos::Tool::"filesystem/read_text_file");\n';

function call(sub: string, roles: string[], tool: string, path: string): ToolCall {
  return {
    requestId: randomUUID(),
    kind: 'tool',
    tool: { server: 'filesystem', name: tool },
    arguments: { path },
    principal: { sub, iss: 'http://idp.test', roles, groups: [] },
    agent: { name: 'agent', tier: 'interactive', delegationChain: [`user:${sub}`, 'agent:agent'] },
  };
}

describe('custos policy test / validate', () => {
  it('test: passes the good cases and fails a wrong expectation, naming the case', async () => {
    const dir = await copyQuickstart();
    await mkdir(join(dir, 'tests'), { recursive: true });
    await writeFile(
      join(dir, 'tests', 'cases.yaml'),
      [
        'cases:',
        '  - { name: alice reads phi, principal: { sub: alice, roles: [clinician] }, tool: filesystem/read_text_file, data_classes: [phi], expect: allow }',
        '  - { name: bob reads phi, principal: { sub: bob, roles: [billing] }, tool: filesystem/read_text_file, data_classes: [phi], expect: deny }',
        '  - { name: alice moves a file, principal: { sub: alice, roles: [clinician] }, tool: filesystem/move_file, expect: confirm }',
      ].join('\n'),
    );
    const ok = await runCliCaptured(['policy', 'test', dir]);
    expect(ok.code ?? 0).toBe(0);
    expect(ok.out).toContain('3 passed, 0 failed');
    await writeFile(
      join(dir, 'tests', 'wrong.yaml'),
      'cases:\n  - { name: bob writes, principal: { sub: bob, roles: [billing] }, tool: filesystem/write_file, expect: allow }\n',
    );
    const bad = await runCliCaptured(['policy', 'test', dir]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('FAIL  tests/wrong.yaml: bob writes: expected allow, got deny');
    expect(bad.out).toContain('3 passed, 1 failed');
  });

  it('validate: every problem with its file and line', async () => {
    const dir = await copyQuickstart();
    await writeFile(join(dir, 'bundle.yaml'), 'name: qs\nversion: 0\nmode: loud\n');
    await writeFile(join(dir, 'policies', 'bad.cedar'), '@id("bad")\npermit (principal, action, resource) when { context.nope };\n');
    const r = await runCliCaptured(['policy', 'validate', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bundle\.yaml:2:10: version: /m);
    expect(r.err).toMatch(/^bundle\.yaml:3:7: mode: /m);
    expect(r.err).toMatch(/^policies\/bad\.cedar:2:\d+: policy "bad": /m);
  });
});

describe('custos policy sign / diff / log', () => {
  it('sign writes a detached approval outside the hash', async () => {
    const dir = await copyQuickstart();
    const keyDir = await mkdtemp(join(tmpdir(), 'custos-keys-'));
    expect((await runCliCaptured(['policy', 'keygen', '--out', join(keyDir, 'bob')])).code ?? 0).toBe(0);
    const before = (await runCliCaptured(['policy', 'hash', dir])).out.trim();
    const r = await runCliCaptured(['policy', 'sign', dir, '--key', join(keyDir, 'bob.pem'), '--id', 'bob']);
    expect(r.out).toContain(`bob approved sha256:${before}`);
    expect(existsSync(join(dir, '.approvals', 'bob.sig'))).toBe(true);
    expect((await runCliCaptured(['policy', 'hash', dir])).out.trim()).toBe(before);
  });

  it('diff lists exactly the recorded calls whose decision changes; log shows the activations with approvers', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'custos-state-'));
    const storeUri = `sqlite:${join(stateDir, 'audit.sqlite')}`;
    const store = await createAuditStore(storeUri);
    const alice = makeApprover('alice');
    const bob = makeApprover('bob');
    const oldDir = await copyQuickstart();
    await writeManifest(oldDir, { name: 'quickstart', version: 1, author: 'alice' });
    await approveBundle(oldDir, alice, bob);
    const old = await loadBundle(oldDir);
    const source = createPolicySource(old.policy);
    const pipeline = createPipeline({
      policy: source,
      protector: createProtector(),
      audit: store,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    const calls = [
      call('alice', ['clinician'], 'read_text_file', '/w/notes.txt'),
      call('bob', ['billing'], 'read_text_file', '/w/notes.txt'),
      call('bob', ['billing'], 'read_text_file', '/w/other.txt'),
      call('bob', ['billing'], 'list_directory', '/w'),
      call('bob', ['billing'], 'write_file', '/w/x.txt'),
    ];
    for (const c of calls) await pipeline.authorize(c);

    const newDir = await copyQuickstart();
    await writeManifest(newDir, { name: 'quickstart', version: 2, author: 'alice' });
    await writeFile(join(newDir, 'policies', 'no-bob.cedar'), FORBID_BOB_WRITES);
    const diff = await runCliCaptured(['policy', 'diff', oldDir, newDir, '--store', storeUri, '--json']);
    const report = JSON.parse(diff.out) as {
      policies: { added: string[] };
      files: { added: string[]; changed: string[] };
      replayed: number;
      calls: { requestId: string; before: { decision: string }; after: { decision: string; reasons: string[] } }[];
    };
    expect(report.policies.added).toEqual(['no-bob-notes']);
    expect(report.files).toMatchObject({ added: ['policies/no-bob.cedar'], changed: ['bundle.yaml'] });
    expect(report.replayed).toBe(5);
    expect(report.calls.map((c) => c.requestId).sort()).toEqual([calls[1]!.requestId, calls[2]!.requestId].sort());
    expect(report.calls[0]).toMatchObject({ before: { decision: 'allow' }, after: { decision: 'deny', reasons: ['bob_blocked'] } });

    // Activate it (refused with the author alone, then approved) and read the history back.
    const settings = { approvals: { requiredApprovals: 1, approvers: [alice, bob], allowEmergency: false }, stateDir };
    const activator = createActivator(old, { ...settings, source, recorder: pipeline });
    await approveBundle(newDir, alice);
    expect((await activator.offer(newDir, { trigger: 'watch' })).status).toBe('refused');
    await approveBundle(newDir, bob);
    expect((await activator.offer(newDir, { trigger: 'watch' })).status).toBe('activated');
    await store.close();
    const log = await runCliCaptured(['policy', 'log', '--store', storeUri]);
    expect(log.out).toMatch(/refused +\w{12} +reason=approvals_insufficient/);
    expect(log.out).toMatch(/activated +quickstart v2 \(enforce\) +\w{12} → \w{12} +author=alice +approvers=bob +verified +via watch/);
    expect(log.out).toContain('2 policy event(s)');
  });
});

describe('review queue of emergency bundles', () => {
  it('lists a bundle activated as an emergency change with its flagged calls, until a fully approved bundle follows', async () => {
    const { collectReviews } = await import('./review.js');
    const { intentEntry } = await import('./cli.test-support.js');
    const activated = (seq: number, detail: Record<string, unknown>) =>
      ({ ...intentEntry(seq, { event: 'admin', detail: { action: 'policy_activated', mode: 'enforce', ...detail } }), seq, prev_hash: '', hash: '' }) as never;
    const flagged = (seq: number) =>
      ({
        ...intentEntry(seq, { policy: { decision: 'allow', bundle_hash: 'e'.repeat(64), determining_policies: [], reasons: [], emergency_change: true } }),
        seq,
        prev_hash: '',
        hash: '',
      }) as never;
    const open = collectReviews([activated(1, { new_hash: 'e'.repeat(64), author: 'alice', emergency: true, approvals: 'verified' }), flagged(2), flagged(3)]);
    expect(open).toEqual([expect.objectContaining({ grantId: `bundle:${'e'.repeat(64)}`, holder: 'alice', calls: 2 })]);
    expect(open[0]?.closedBy).toBeUndefined();
    const closed = collectReviews([
      activated(1, { new_hash: 'e'.repeat(64), author: 'alice', emergency: true, approvals: 'verified' }),
      flagged(2),
      activated(3, { new_hash: 'f'.repeat(64), author: 'alice', emergency: false, approvals: 'verified' }),
    ]);
    expect(closed[0]?.closedBy).toBe(`bundle:${'f'.repeat(64)}`);
  });
});

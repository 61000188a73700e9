/**
 * Two replicas on one real PostgreSQL: the bundle's rate limit is one shared count (parallel
 * calls through both never exceed it), and an activation on one is followed by the other
 * through NOTIFY, well before its own poll would have noticed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditStore, createRateCounter } from '../../src/audit/index.js';
import type { AuditStoreAdmin } from '../../src/audit/index.js';
import { createPipeline } from '../../src/kernel/index.js';
import type { RateCounter, ToolCall } from '../../src/kernel/index.js';
import { createActivator, createPolicySource, createPostgresPolicyNotifier, loadBundle } from '../../src/policy/index.js';
import type { PolicyNotifier } from '../../src/policy/index.js';
import { approveBundle, copyQuickstart, makeApprover, writeManifest } from '../../src/policy/bundles.test-support.js';
import { createProtector } from '../../src/protect/index.js';
import { postgresForSuite } from './postgres.js';

const alice = makeApprover('alice');
const bob = makeApprover('bob');

function subagentCall(n: number): ToolCall {
  return {
    requestId: randomUUID(),
    kind: 'tool',
    tool: { server: 'filesystem', name: 'read_text_file' },
    arguments: { path: '/w/notes.txt' },
    principal: { sub: 'alice', iss: 'idp', roles: ['clinician'], groups: [], credential: 'delegation', actors: [`sub-${n}`] },
    agent: { name: `sub-${n}`, tier: 'subagent', delegationChain: ['user:alice', `agent:sub-${n}`] },
  };
}

describe('two replicas on one PostgreSQL', () => {
  const db = postgresForSuite();

  it('enforce one shared rate-limit count', async () => {
    const dir = await copyQuickstart();
    await writeManifest(dir, { name: 'quickstart', version: 1, rateLimits: [{ id: 'reads', per: ['user'], classes: ['read'], perMinute: 7 }] });
    const bundle = await loadBundle(dir);
    const replicas: ReturnType<typeof createPipeline>[] = [];
    for (let i = 0; i < 2; i++) {
      const store: AuditStoreAdmin = await createAuditStore(db.url, { busyTimeoutMs: 10_000 });
      const counter: RateCounter = await createRateCounter(db.url);
      db.open.push(store, counter);
      replicas.push(
        createPipeline({
          policy: createPolicySource(bundle.policy),
          protector: createProtector(),
          audit: store,
          clock: { now: () => new Date() },
          ids: { newId: randomUUID },
          rateCounter: counter,
        }),
      );
    }
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.authorize(subagentCall(i % 5))));
    expect(results.filter((r) => r.decision.decision === 'allow')).toHaveLength(7);
    const denied = results.filter((r) => r.decision.decision === 'deny');
    expect(denied).toHaveLength(13);
    for (const d of denied) expect(d.record).toMatchObject({ event: 'deny', user: { sub: 'alice' }, policy: { reasons: ['rate_limited'] } });
  }, 60_000);

  it('follow an activation through NOTIFY', async () => {
    const shared = await copyQuickstart();
    await writeManifest(shared, { name: 'quickstart', version: 1, author: 'alice' });
    await approveBundle(shared, alice, bob);
    const first = await loadBundle(shared);
    const settings = { approvals: { requiredApprovals: 1, approvers: [alice, bob], allowEmergency: false } };
    const sources = [createPolicySource(first.policy), createPolicySource(first.policy)];
    const notifiers: PolicyNotifier[] = [];
    const activators = [];
    for (let i = 0; i < 2; i++) {
      const store = await createAuditStore(db.url, { busyTimeoutMs: 10_000 });
      db.open.push(store);
      const recorder = createPipeline({
        policy: sources[i]!,
        protector: createProtector(),
        audit: store,
        clock: { now: () => new Date() },
        ids: { newId: randomUUID },
      });
      const stateDir = await mkdtemp(join(tmpdir(), 'custos-state-'));
      const activator = createActivator(first, { ...settings, stateDir, source: sources[i]!, recorder, onActivated: (h) => notifiers[i]?.publish(h) });
      activators.push(activator);
      // No file watching, no poll: a NOTIFY is the only thing that makes a replica look at its source.
      const notifier = await createPostgresPolicyNotifier(
        db.url,
        () => void activator.offer(shared, { trigger: 'notify' }),
        () => undefined,
      );
      notifiers.push(notifier);
      db.open.push(notifier);
    }
    const { writeFile } = await import('node:fs/promises');
    await writeManifest(shared, { name: 'quickstart', version: 2, author: 'alice' });
    await writeFile(join(shared, 'policies', 'no-bob.cedar'), '@id("no-bob")\nforbid (principal == Custos::User::"bob", action, resource);\n');
    const hash = await approveBundle(shared, alice, bob);
    const started = Date.now();
    expect((await activators[0]!.offer(shared, { trigger: 'watch' })).status).toBe('activated');
    while (sources[1]!.current().bundleHash !== hash && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
    expect(sources[0]!.current().bundleHash).toBe(hash);
    expect(sources[1]!.current().bundleHash).toBe(hash);
    expect(Date.now() - started).toBeLessThan(20_000); // the docs' bound is about a second; the machine is loaded
  }, 60_000);
});

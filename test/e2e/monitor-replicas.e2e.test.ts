/**
 * The monitor's counting rules on two replicas sharing one real PostgreSQL (the trail and the
 * rate counters): denials split over both make one window, and the spike is raised once.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditStore, createRateCounter } from '../../src/audit/index.js';
import { createPipeline } from '../../src/kernel/index.js';
import type { ActivePolicy, AuditRecord, AuditStore, ToolCall } from '../../src/kernel/index.js';
import { createMonitor } from '../../src/monitor/index.js';
import { createProtector } from '../../src/protect/index.js';
import { postgresForSuite } from './postgres.js';

const denyAll: ActivePolicy = {
  bundleHash: 'b'.repeat(64),
  decide: () => ({ decision: 'deny', reasons: ['not_permitted'], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] }),
  classifyTool: () => ({ classes: [] }),
  classificationRules: [],
};
// One instant for every row: the windows are on the rows' times, and the test must not straddle a window's end.
const clock = { now: () => new Date('2026-01-01T00:00:30Z') };
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

const call = (): ToolCall => ({
  requestId: randomUUID(),
  kind: 'tool',
  tool: { server: 'filesystem', name: 'write_file' },
  arguments: {},
  principal: { sub: 'mallory', iss: 'idp', roles: [], groups: [] },
  agent: { name: 'rogue-agent', tier: 'interactive', delegationChain: ['user:mallory'] },
});

async function rows(store: AuditStore): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of store.read({ fromSeq: 1 })) out.push(r);
  return out;
}

describe('the monitor on two replicas and one PostgreSQL', () => {
  const db = postgresForSuite();

  it('counts one deny window across the replicas and raises the spike once', async () => {
    const replicas = [];
    for (let i = 0; i < 2; i++) {
      const store = await createAuditStore(db.url, { busyTimeoutMs: 10_000 });
      const counter = await createRateCounter(db.url);
      const monitor = createMonitor({ store, clock, ids: { newId: randomUUID }, logger: silent, counter });
      const pipeline = createPipeline({
        policy: { current: () => denyAll },
        protector: createProtector(),
        audit: store,
        clock,
        ids: { newId: randomUUID },
        monitor: monitor.hook,
        guard: monitor.guard,
      });
      monitor.attach(pipeline);
      await monitor.start();
      db.open.push(store, counter, monitor);
      replicas.push({ store, monitor, pipeline });
    }
    // The spike's minimum is 10 denials in a window: 5 on each replica, so neither alone would raise it.
    for (let i = 0; i < 5; i++) for (const r of replicas) expect((await r.pipeline.authorize(call())).decision.decision).toBe('deny');
    for (const r of replicas) await r.monitor.sync();
    for (const r of replicas) await r.monitor.idle();
    const spikes = (await rows(replicas[0]!.store)).filter((r) => r.alert?.type === 'deny_rate_spike');
    expect(spikes.map((r) => r.detail?.scope).sort()).toEqual(['agent', 'tool', 'user']);
    expect(spikes.find((r) => r.detail?.scope === 'user')).toMatchObject({ user: { sub: 'mallory' }, detail: { denies: 10, key: 'idp|mallory' } });
    // A replica that folds the same rows later raises nothing again.
    for (const r of replicas) await r.monitor.sync();
    for (const r of replicas) await r.monitor.idle();
    expect((await rows(replicas[1]!.store)).filter((r) => r.alert?.type === 'deny_rate_spike')).toHaveLength(3);
  }, 120_000);
});

/**
 * The monitor's counting rules on two replicas sharing one real PostgreSQL (the trail and the
 * rate counters): denials split over both make one window, and the spike is raised once; the
 * start-up snapshot in the same PostgreSQL (migration 6) is taken, and refused once tampered with.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrateStore } from '../../src/app/index.js';
import { createAuditStore, createRateCounter } from '../../src/audit/index.js';
import { createPipeline } from '../../src/kernel/index.js';
import type { ActivePolicy, AuditRecord, AuditStore, ToolCall } from '../../src/kernel/index.js';
import { createMonitor, createPostgresSnapshotStore } from '../../src/monitor/index.js';
import type { MonitorSnapshotStore } from '../../src/monitor/index.js';
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

/** One replica on the suite's PostgreSQL: its own store, counters and monitor (closed after the suite). */
async function startReplica(db: ReturnType<typeof postgresForSuite>, options: { readonly snapshots?: MonitorSnapshotStore } = {}) {
  const store = await createAuditStore(db.url, { busyTimeoutMs: 10_000 });
  const counter = await createRateCounter(db.url);
  const monitor = createMonitor({ store, clock, ids: { newId: randomUUID }, logger: silent, counter, ...options });
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
  return { store, monitor, pipeline };
}

describe('the monitor on two replicas and one PostgreSQL', () => {
  const db = postgresForSuite();

  beforeAll(async () => {
    await migrateStore(db.url); // the snapshot's table is migration 6
  });

  it('counts one deny window across the replicas and raises the spike once', async () => {
    const replicas = [await startReplica(db), await startReplica(db)];
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

  it("starts from the snapshot in the trail's PostgreSQL and reads only the rows after it; a rewritten snapshot row is refused", async () => {
    const first = await startReplica(db, { snapshots: createPostgresSnapshotStore(db.url) });
    await first.monitor.setKill({ sub: 'root', iss: 'idp', roles: ['custos-admin'], groups: [] }, 'agent:rogue-agent', 'stolen token');
    await first.monitor.close(); // saves the snapshot
    const covered = (await first.store.head()).seq;
    const other = await startReplica(db); // another replica, no snapshots, writes the tail
    for (let i = 0; i < 3; i++) await other.pipeline.authorize(call());
    await other.monitor.idle();
    const head = (await other.store.head()).seq;

    const next = await startReplica(db, { snapshots: createPostgresSnapshotStore(db.url) });
    expect(next.monitor.startReport()).toMatchObject({ snapshot: 'used', fromSeq: covered, rowsRead: head - covered });
    expect(next.monitor.kills()).toEqual([expect.objectContaining({ target: 'agent:rogue-agent', reason: 'stolen token' })]);

    // Someone with write access to the table points the snapshot at another row: the hash no longer matches.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows: saved } = await client.query<{ body: string }>('SELECT body FROM custos_monitor_snapshot');
    const [header, body] = [saved[0]!.body.slice(0, saved[0]!.body.indexOf('\n')), saved[0]!.body.slice(saved[0]!.body.indexOf('\n') + 1)];
    const moved = JSON.stringify({ ...JSON.parse(header), seq: 1 });
    await client.query('UPDATE custos_monitor_snapshot SET body = $1', [`${moved}\n${body}`]);
    await client.end();
    const refused = await startReplica(db, { snapshots: createPostgresSnapshotStore(db.url) });
    expect(refused.monitor.startReport()).toMatchObject({ snapshot: 'mismatch', reason: "the trail's row 1 has another hash" });
    expect(refused.monitor.startReport()?.rowsRead).toBeGreaterThanOrEqual(head);
    expect(refused.monitor.kills()).toHaveLength(1);
  }, 120_000);
});

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMemoryAudit } from '../audit/index.test-support.js';
import { createPipeline } from '../kernel/index.js';
import { probeEventLoop } from '../kernel/index.test-support.js';
import type { ActivePolicy, AuditStore, Principal, Protector, ToolCall } from '../kernel/index.js';
import { createMonitor } from './monitor.js';
import type { MonitorSettings } from './monitor.js';
import { decodeSnapshot } from './snapshot.js';
import type { MonitorSnapshotStore, SnapshotSeal } from './snapshot.js';
import { createSqliteSnapshotStore } from './snapshot-store.js';
import { DEFAULT_RULE_SETTINGS } from './types.js';

const protector: Protector = { classify: () => [], redact: <T>(value: T) => ({ value, count: 0, types: [] }) };
const policy: ActivePolicy = {
  bundleHash: 'b'.repeat(64),
  decide: (c) =>
    c.tool.name === 'delete_file'
      ? { decision: 'deny', reasons: ['policy_denied'], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] }
      : { decision: 'allow', reasons: ['ok'], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] },
  classifyTool: () => ({ classes: [] }),
  classificationRules: [],
};
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const admin: Principal = { sub: 'root', iss: 'https://idp', roles: ['custos-admin'], groups: [] };
const user = (sub: string): Principal => ({ sub, iss: 'https://idp', roles: [], groups: [] });
const forward = async () => ({ content: [] });

function call(sub: string, tool: string): ToolCall {
  return {
    requestId: `req-${Math.random()}`,
    kind: 'tool',
    tool: { server: 'fs', name: tool },
    arguments: {},
    principal: user(sub),
    agent: { name: `agent-${sub}`, tier: 'interactive', delegationChain: [`user:${sub}`] },
  };
}

/** A snapshot store in memory (the SQLite and PostgreSQL ones are tested below and in the e2e tests). */
function memorySnapshots(): MonitorSnapshotStore & { text?: string } {
  const s: MonitorSnapshotStore & { text?: string; seq: number } = {
    seq: 0,
    load: async () => s.text,
    save: async (seq, text) => {
      if (seq > s.seq) Object.assign(s, { seq, text });
    },
    close: async () => undefined,
  };
  return s;
}

/** The trail as a monitor reads it, counting the rows read. */
function counted(audit: Pick<AuditStore, 'read'>): Pick<AuditStore, 'read'> & { rows: number } {
  const c = {
    rows: 0,
    async *read(options?: { fromSeq?: number; limit?: number }) {
      for await (const r of audit.read(options)) {
        c.rows++;
        yield r;
      }
    },
  };
  return c;
}

/** One process's monitor on the trail: writes calls through a pipeline, then closes (saving its snapshot). */
async function monitorOn(
  audit: ReturnType<typeof createMemoryAudit>,
  snapshots?: MonitorSnapshotStore,
  settings: Partial<MonitorSettings> = {},
  snapshotSeal?: SnapshotSeal,
) {
  const store = counted(audit);
  const monitor = createMonitor({
    store,
    clock: { now: () => new Date() },
    ids: { newId: () => `k-${Math.random()}` },
    logger: silent,
    snapshots,
    settings,
    snapshotSeal,
  });
  const pipeline = createPipeline({
    policy: { current: () => policy },
    protector,
    audit,
    clock: { now: () => new Date() },
    ids: { newId: () => `id-${Math.random()}` },
    monitor: monitor.hook,
    guard: monitor.guard,
  });
  monitor.attach(pipeline);
  await monitor.start();
  return { monitor, pipeline, store };
}

/** What a start must rebuild: the inventory's counts, kill switches, alerts, and the rules' first-seen sets. */
async function traffic(pipeline: Awaited<ReturnType<typeof monitorOn>>['pipeline'], n: number): Promise<void> {
  for (let i = 0; i < n; i++) await pipeline.run(call(`u${i % 3}`, i % 4 === 0 ? 'delete_file' : 'read_file'), forward);
}

const view = (m: Awaited<ReturnType<typeof monitorOn>>['monitor']) => ({
  inventory: { ...m.inventory(), generated_at: 'now' },
  kills: m.kills(),
  alerts: m.alerts({ all: true }),
});

/** An Ed25519 seal, as the app makes from the checkpoint signing key. */
function sealOf(keyId: string): SnapshotSeal {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId, sign: (data) => sign(null, data, privateKey), verify: (data, sig) => verify(null, data, publicKey, sig) };
}

/** A trail of 40 calls and a kill switch, a snapshot after them, and 6 more calls after the snapshot. */
async function trailWithSnapshot(seal?: SnapshotSeal) {
  const audit = createMemoryAudit();
  const snapshots = memorySnapshots();
  const first = await monitorOn(audit, snapshots, {}, seal);
  await traffic(first.pipeline, 40);
  await first.monitor.setKill(admin, 'agent:agent-u2', 'investigating');
  await first.monitor.sync();
  await first.monitor.idle();
  await first.monitor.close();
  const covered = audit.rows.length;
  const later = await monitorOn(audit); // a process without snapshots writes the tail
  await traffic(later.pipeline, 6);
  await later.monitor.close();
  return { audit, snapshots, covered };
}

describe("the monitor's start-up snapshot", () => {
  it('is saved at close, and a start reads only the rows after it, into the same state as a full read', async () => {
    const { audit, snapshots, covered } = await trailWithSnapshot();
    expect(decodeSnapshot(snapshots.text!, '60000|10|true')).toMatchObject({ seq: covered });
    const fromSnapshot = await monitorOn(audit, snapshots);
    const full = await monitorOn(audit);
    expect(fromSnapshot.monitor.startReport()).toMatchObject({ snapshot: 'used', fromSeq: covered, rowsRead: audit.rows.length - covered });
    expect(fromSnapshot.store.rows).toBe(1 + audit.rows.length - covered); // the snapshot's row (its hash checked), then the tail
    expect(full.monitor.startReport()).toMatchObject({ snapshot: 'off', rowsRead: audit.rows.length });
    expect(view(fromSnapshot.monitor)).toEqual(view(full.monitor));
    expect(fromSnapshot.monitor.kills()).toEqual([expect.objectContaining({ target: 'agent:agent-u2', reason: 'investigating' })]);
    // The rules' first-seen sets came from the snapshot: a user's old tool is no first use, a new one is.
    await fromSnapshot.pipeline.run(call('u0', 'read_file'), forward);
    await fromSnapshot.pipeline.run(call('u0', 'write_file'), forward);
    await fromSnapshot.monitor.sync();
    await fromSnapshot.monitor.idle();
    const raised = audit.rows.filter((r) => r.event === 'alert' && r.seq > covered).map((r) => [r.alert?.type, r.detail?.tool]);
    expect(raised).toEqual([
      ['tool_first_use', 'fs/write_file'],
      ['tool_first_use_by_user', 'fs/write_file'],
    ]);
  });

  it('is saved every snapshotEveryRows rows while running', async () => {
    const audit = createMemoryAudit();
    const snapshots = memorySnapshots();
    const m = await monitorOn(audit, snapshots, { snapshotEveryRows: 10 });
    await traffic(m.pipeline, 8); // 14 rows and more (the first uses' alerts)
    await m.monitor.sync();
    await m.monitor.idle();
    const saved = decodeSnapshot(snapshots.text!, '60000|10|true');
    if (typeof saved === 'string') throw new Error(saved);
    expect(saved.seq).toBeGreaterThanOrEqual(10);
    expect(saved.hash).toBe(audit.rows[saved.seq - 1]!.hash);
  });

  it('falls back to a full read when there is none', async () => {
    const { audit } = await trailWithSnapshot();
    const m = await monitorOn(audit, memorySnapshots());
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'none', rowsRead: audit.rows.length });
  });

  it.each([
    ['not JSON', (t: string) => t.slice(0, 20), 'not JSON'],
    ['another version', (t: string) => t.replace('custos.monitor-snapshot/v1', 'custos.monitor-snapshot/v0'), 'is not custos.monitor-snapshot/v1'],
    ['a damaged body', (t: string) => t.replace('investigating', 'investigatinG'), 'does not match its digest'],
  ])('falls back to a full read on a bad one (%s), and says why', async (_name, damage, reason) => {
    const { audit, snapshots } = await trailWithSnapshot();
    snapshots.text = damage(snapshots.text!);
    const m = await monitorOn(audit, snapshots);
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'invalid', rowsRead: audit.rows.length });
    expect(m.monitor.startReport()?.reason).toContain(reason);
    expect(m.monitor.kills()).toHaveLength(1); // the full read found the kill switch
  });

  it('falls back to a full read when it was counted under other rule windows', async () => {
    const { audit, snapshots } = await trailWithSnapshot();
    const m = await monitorOn(audit, snapshots, { rules: { ...DEFAULT_RULE_SETTINGS, windowMs: 30_000 } });
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'invalid', reason: 'the snapshot was counted under other rule settings' });
  });

  it("falls back to a full read when the trail's row at its seq has another hash (another trail, or a rewritten one)", async () => {
    const { snapshots } = await trailWithSnapshot();
    const other = (await trailWithSnapshot()).audit; // as long, other rows
    const m = await monitorOn(other, snapshots);
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'mismatch', rowsRead: other.rows.length });
    expect(m.monitor.startReport()?.reason).toMatch(/row \d+ has another hash/);
  });

  it('falls back to a full read when the trail has no row at its seq (a trail restored from an older backup)', async () => {
    const { audit, snapshots, covered } = await trailWithSnapshot();
    audit.rows.splice(covered - 5);
    const m = await monitorOn(audit, snapshots);
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'mismatch', reason: `the trail has no row ${covered}`, rowsRead: covered - 5 });
  });

  it('falls back to a full read when the store cannot be read', async () => {
    const { audit, snapshots } = await trailWithSnapshot();
    const m = await monitorOn(audit, { ...snapshots, load: () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' })) });
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'unreadable', reason: 'ECONNREFUSED', rowsRead: audit.rows.length });
  });

  it('with a seal (the checkpoint key), is signed, and a start takes it', async () => {
    const seal = sealOf('k1');
    const { audit, snapshots, covered } = await trailWithSnapshot(seal);
    expect(JSON.parse(snapshots.text!.split('\n')[0]!)).toMatchObject({ key_id: 'k1', signature: expect.any(String) });
    const m = await monitorOn(audit, snapshots, {}, seal);
    expect(m.monitor.startReport()).toMatchObject({ snapshot: 'used', fromSeq: covered });
  });

  it('with a seal, refuses a forged one (kill switch lifted, digest recomputed), an unsigned one and one of another key: a full read, which finds the kill switch', async () => {
    const seal = sealOf('k1');
    const { audit, snapshots } = await trailWithSnapshot(seal);
    const [headerLine, body] = snapshots.text!.split('\n') as [string, string];
    const forgedBody = JSON.stringify({ ...(JSON.parse(body) as object), kills: [] });
    const header = JSON.parse(headerLine) as Record<string, unknown>;
    const digest = createHash('sha256').update(forgedBody).digest('hex');
    const forged = `${JSON.stringify({ ...header, sha256: digest })}\n${forgedBody}`;
    const { key_id: _k, signature: _s, ...unsignedHeader } = header;
    const unsigned = `${JSON.stringify({ ...unsignedHeader, sha256: digest })}\n${forgedBody}`;
    const otherKey = (await trailWithSnapshot(sealOf('k1'))).snapshots.text!; // same key id, another key
    for (const [text, reason] of [
      [forged, "the snapshot's signature does not verify"],
      [unsigned, "the snapshot is not signed by this deployment's checkpoint key"],
    ] as const) {
      snapshots.text = text;
      const m = await monitorOn(audit, snapshots, {}, seal);
      expect(m.monitor.startReport()).toMatchObject({ snapshot: 'invalid', reason, rowsRead: audit.rows.length });
      expect(m.monitor.kills()).toHaveLength(1);
    }
    // Without a seal the forgery would have been taken: what the seal is for.
    snapshots.text = forged;
    const unsealed = await monitorOn(audit, snapshots);
    expect(unsealed.monitor.startReport()).toMatchObject({ snapshot: 'used' });
    expect(unsealed.monitor.kills()).toHaveLength(0);
    // Another key's snapshot names another trail's row here, so check the signature alone.
    expect(decodeSnapshot(otherKey, '60000|10|true', seal)).toBe("the snapshot's signature does not verify");
  });

  it('keeps the newest in SQLite: a save of an older seq does not replace it', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'custos-snap-')), 'trail.db.monitor');
    const s = createSqliteSnapshotStore(file);
    await s.save(10, 'ten');
    await s.save(5, 'five');
    expect(await s.load()).toBe('ten');
    await s.save(11, 'eleven');
    await s.close();
    const reopened = createSqliteSnapshotStore(file);
    expect(await reopened.load()).toBe('eleven');
    await reopened.close();
  });

  it("waits for another connection's lock on the SQLite file on timers (the event loop free), and saves once it is released", async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'custos-snap-')), 'trail.db.monitor');
    const s = createSqliteSnapshotStore(file);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const started = performance.now();
    const saving = s.save(1, 'one');
    const loop = await probeEventLoop(started, 40);
    expect(loop.firstTickMs).toBeLessThan(500); // before: the save slept inside SQLite until the lock was gone or 1 s had passed
    expect(loop.ticks).toBeGreaterThan(3);
    other.exec('COMMIT');
    other.close();
    await saving;
    expect(await s.load()).toBe('one');
    await s.close();
  });
});

describe("the monitor's reads of the trail while running", () => {
  it("folds this process's own rows without reading them back, and reads the trail from a row it did not write", async () => {
    const audit = createMemoryAudit();
    const m = await monitorOn(audit);
    const atStart = m.store.rows;
    await traffic(m.pipeline, 10);
    await m.monitor.sync();
    await m.monitor.idle();
    await m.monitor.sync(); // the first-use alert rows, written through the pipeline, are its own too
    expect(m.store.rows).toBe(atStart); // nothing read back
    expect(m.monitor.inventory().servers[0]).toMatchObject({ name: 'fs', calls: 7 }); // 10 calls, 3 of them denied
    expect(m.monitor.alerts().map((a) => a.type)).toEqual(expect.arrayContaining(['tool_first_use', 'tool_first_use_by_user']));
    // Another process's row (a kill switch set by another replica): a gap in this process's rows, so the trail is read from it.
    const other = await monitorOn(audit);
    await other.monitor.setKill(admin, 'agent:agent-u1', 'from the other replica');
    await traffic(m.pipeline, 2);
    await m.monitor.sync();
    expect(m.store.rows).toBeGreaterThan(atStart);
    expect(m.monitor.kills()).toEqual([expect.objectContaining({ reason: 'from the other replica' })]);
    expect(m.monitor.inventory().servers[0]).toMatchObject({ calls: 8 }); // one of the two allowed
  });
});

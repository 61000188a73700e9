import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NO_BUNDLE_HASH, buildAdminRow, canonicalize } from '../kernel/index.js';
import type { AuditEntry, AuditRecord } from '../kernel/index.js';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { createCheckpointSigner, loadVerifyKeys } from './checkpoint.js';
import { createCheckpointer } from './checkpointer.js';
import { collect, makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';
import { createAuditStore } from './registry.js';
import { PURGE_ACTION, isPurgedRow } from './retention-format.js';
import { HOLD_PLACED, HOLD_RELEASED, SIX_YEARS_DAYS, batchRanges, checkRetention, planPurge, toRanges } from './retention.js';
import type { PurgePlan, RetentionSettings } from './retention.js';
import type { AuditStoreAdmin } from './types.js';
import { verifyChain } from './verify-chain.js';
import { verifyExport } from './verify-export.js';

const NOW = new Date('2033-06-01T00:00:00Z');
const SIX_YEARS: RetentionSettings = { minimumDays: SIX_YEARS_DAYS, defaultDays: SIX_YEARS_DAYS, classes: {} };
const OLD = '2025-01-01T00:00:00.000Z'; // more than six years before NOW
const RECENT = '2030-01-01T00:00:00.000Z';

function row(n: number, over: { time?: string; sub?: string; tenant?: string; event?: AuditEntry['event'] } = {}): AuditEntry {
  const base = makeEntry(n, { time: over.time ?? OLD });
  return {
    ...base,
    ...(over.event ? { event: over.event } : {}),
    user: { ...base.user, sub: over.sub ?? 'alice', ...(over.tenant ? { tenant: over.tenant } : {}) },
    output: { redacted: `body-of-row-${n}-${over.sub ?? 'alice'}`, sha256: 'c'.repeat(64) },
  };
}

const admin = (action: string, detail: Record<string, unknown>, time = RECENT): AuditEntry =>
  buildAdminRow(
    { time, requestId: `r-${action}-${JSON.stringify(detail)}`, bundleHash: NO_BUNDLE_HASH },
    { user: { sub: 'ops', iss: 'custos:cli' } },
    {
      action,
      decision: 'allow',
      detail,
    },
  );

/** Executes a plan as the CLI does: one purge row per batch. */
async function purgeAll(store: AuditStoreAdmin, plan: PurgePlan, batch = 1000): Promise<AuditRecord[]> {
  const rows: AuditRecord[] = [];
  for (const ranges of batchRanges(plan.ranges, batch)) rows.push((await store.purge!(admin(PURGE_ACTION, { purged: ranges }))).record);
  return rows;
}

function newSigner() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signer: createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    keys: loadVerifyKeys([publicKey.export({ type: 'spki', format: 'pem' }).toString()]),
  };
}

async function checkpointNow(store: AuditStoreAdmin, signer: ReturnType<typeof newSigner>['signer']): Promise<void> {
  const cp = createCheckpointer(store, {
    signer,
    everyRows: 1e9,
    everyMs: 2 ** 31 - 1,
    clock: { now: () => NOW },
    ids: { newId: () => randomBytes(8).toString('hex') },
  });
  await cp.checkpoint();
  await cp.close();
}

const exportLines = async (store: AuditStoreAdmin): Promise<string[]> => (await collect(store.read())).map((r) => canonicalize(r));

describe('retention plan', () => {
  it('refuses a retention below the configured minimum', () => {
    expect(() => checkRetention({ ...SIX_YEARS, classes: { auth_failure: 30 } })).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_PURGE_REFUSED' }));
    expect(() => checkRetention({ ...SIX_YEARS, defaultDays: 365 })).toThrow(/below the minimum of 2192 days: default/);
  });

  it('purges past-retention rows per class, never checkpoint, purge or hold rows', async () => {
    const rows = [
      { ...row(1), seq: 1 },
      { ...row(2, { event: 'auth_failure' }), seq: 2 },
      { ...row(3, { time: RECENT }), seq: 3 },
      { ...admin(HOLD_PLACED, { hold_id: 'h0', user: 'nobody', reason: 'x' }, OLD), seq: 4 },
      { ...admin(PURGE_ACTION, { purged: [] }, OLD), seq: 5 },
      { ...row(6, { event: 'checkpoint' }), seq: 6 },
    ] as AuditRecord[];
    // auth_failure kept ten years: row 2 (8.4 years old) stays.
    const plan = await planPurge(rows, { ...SIX_YEARS, classes: { auth_failure: 3653 } }, NOW);
    expect(plan.ranges).toEqual([[1, 1]]);
    expect(plan.classes).toEqual({ intent: { cutoff: '2027-06-01T00:00:00.000Z', purged: 1 } });
    expect(plan.head).toBe(6);
  });

  it('keeps rows an open legal hold covers (by user, tenant, time range), and purges them once it is released', async () => {
    const rows = [
      { ...row(1, { sub: 'alice' }), seq: 1 },
      { ...row(2, { sub: 'bob' }), seq: 2 },
      { ...row(3, { sub: 'carol', tenant: 'acme' }), seq: 3 },
      { ...row(4, { sub: 'dave', time: '2024-03-01T00:00:00.000Z' }), seq: 4 },
      { ...admin(HOLD_PLACED, { hold_id: 'h-bob', user: 'bob', reason: 'litigation 42' }), seq: 5 },
      { ...admin(HOLD_PLACED, { hold_id: 'h-acme', tenant: 'acme', reason: 'audit' }), seq: 6 },
      { ...admin(HOLD_PLACED, { hold_id: 'h-march', from: '2024-02-01T00:00:00Z', to: '2024-04-01T00:00:00Z', reason: 'incident' }), seq: 7 },
    ] as AuditRecord[];
    const held = await planPurge(rows, SIX_YEARS, NOW);
    expect(held.ranges).toEqual([[1, 1]]);
    expect(held.held).toBe(3);
    expect(held.holds.map((h) => h.hold_id)).toEqual(['h-bob', 'h-acme', 'h-march']);
    const released = await planPurge([...rows, { ...admin(HOLD_RELEASED, { hold_id: 'h-bob', reason: 'settled' }), seq: 8 } as AuditRecord], SIX_YEARS, NOW);
    expect(released.ranges).toEqual([[1, 2]]);
    expect(released.held).toBe(2);
  });

  it('turns seqs into ranges and ranges into batches of a fixed size', () => {
    expect(toRanges([1, 2, 3, 5, 7, 8])).toEqual([
      [1, 3],
      [5, 5],
      [7, 8],
    ]);
    expect(
      batchRanges(
        [
          [1, 5],
          [8, 9],
        ],
        3,
      ),
    ).toEqual([
      [[1, 3]],
      [
        [4, 5],
        [8, 8],
      ],
      [[9, 9]],
    ]);
  });
});

describe('retention purge on the SQLite store', () => {
  let dir: TempDir;
  let file: string;
  let store: AuditStoreAdmin | undefined;
  beforeEach(() => {
    dir = makeTempDir();
    file = join(dir.path, 'audit.sqlite');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    dir.remove();
  });

  /** 12 old rows (alice, bob, carol), a hold on bob, a checkpoint, 3 recent rows. */
  async function seed(options: Parameters<typeof createAuditStore>[1] = {}): Promise<ReturnType<typeof newSigner>> {
    const key = newSigner();
    store = await createAuditStore(`sqlite:${file}`, options);
    for (let n = 1; n <= 12; n += 1) await store.append(row(n, { sub: ['bob', 'alice', 'carol'][n % 3]! }));
    await store.append(admin(HOLD_PLACED, { hold_id: 'h-bob', user: 'bob', reason: 'litigation 42' }));
    await checkpointNow(store, key.signer);
    for (let n = 15; n <= 17; n += 1) await store.append(row(n, { time: RECENT }));
    return key;
  }

  it('removes the bodies past retention, keeps held rows whole, and what remains verifies offline from a signed checkpoint', async () => {
    const key = await seed();
    const plan = await planPurge(store!.read(), SIX_YEARS, NOW);
    expect(plan.rows).toBe(8); // alice and carol; bob's four rows are held
    expect(plan.held).toBe(4);
    const purgeRows = await purgeAll(store!, plan, 3);
    expect(purgeRows).toHaveLength(3);
    await checkpointNow(store!, key.signer);

    const rows = await collect(store!.read());
    const bodies = rows.filter((r) => !isPurgedRow(r) && r.output?.redacted);
    expect(bodies.map((r) => r.user.sub).filter((s) => s !== 'alice' && s !== 'bob' && s !== 'carol')).toEqual([]);
    expect(rows.filter(isPurgedRow).map((r) => r.seq)).toEqual([1, 2, 4, 5, 7, 8, 10, 11]);
    for (const seq of [3, 6, 9, 12]) expect(rows[seq - 1]).toMatchObject({ seq, user: { sub: 'bob' } }); // under the hold: whole
    expect(await verifyChain(store!.readRaw())).toMatchObject({ ok: true, count: rows.length });
    const report = await verifyExport(await exportLines(store!), { keys: key.keys });
    expect(report).toMatchObject({ ok: true, rows: rows.length, findings: [] });
    expect(report.latest?.tree_size).toBe(rows.length - 1);

    await store!.close();
    store = undefined;
    const disk = Buffer.concat(readdirSync(dir.path).map((f) => readFileSync(join(dir.path, f))));
    expect(disk.includes(Buffer.from('body-of-row-1-'))).toBe(false); // overwritten, not left in a free page or the WAL
    expect(disk.includes(Buffer.from('body-of-row-3-bob'))).toBe(true);
  });

  it('a purge no signed checkpoint covers is named by the offline verifier (purge_unsigned)', async () => {
    const key = await seed();
    const [purgeRow] = await purgeAll(store!, await planPurge(store!.read(), SIX_YEARS, NOW));
    const report = await verifyExport(await exportLines(store!), { keys: key.keys });
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'purge_unsigned', seq: purgeRow!.seq })]);
  });

  it('purges sealed rows too: the tombstones are in clear, the kept rows stay sealed and readable', async () => {
    const registry = createKeyRegistry([{ id: 'k1', use: 'encrypt', material: randomBytes(32).toString('hex') }]);
    const key = await seed({ keys: recordKeysOf(registry, 'k1') });
    await purgeAll(store!, await planPurge(store!.read(), SIX_YEARS, NOW));
    await checkpointNow(store!, key.signer);
    expect(await verifyChain(store!.readRaw())).toMatchObject({ ok: true });
    expect((await collect(store!.read()))[2]).toMatchObject({ seq: 3, user: { sub: 'bob' }, output: { redacted: 'body-of-row-3-bob' } });
    expect((await verifyExport(await exportLines(store!), { keys: key.keys })).ok).toBe(true);
  });

  it('the triggers still refuse UPDATE and DELETE outside a purge, a tombstone included', async () => {
    await seed();
    await store!.close();
    store = undefined;
    const db = new Database(file);
    try {
      expect(() => db.prepare('DELETE FROM audit_records WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE audit_records SET record = record || ' ' WHERE seq = 1").run()).toThrow(/append-only/);
      const { hash } = db.prepare('SELECT hash FROM audit_records WHERE seq = 2').get() as { hash: string };
      const forged = `{"hash":"${hash}","prev_hash":"x","purged_by":99,"schema":"custos.purged/v1","seq":2}`;
      expect(() => db.prepare('UPDATE audit_records SET record = ? WHERE seq = 2').run(forged)).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  it('a body removed outside a purge (a forged tombstone) is named: purge_unrecorded', async () => {
    const key = await seed();
    await store!.close();
    store = undefined;
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_records_no_update');
    const prev = (db.prepare('SELECT hash FROM audit_records WHERE seq = 4').get() as { hash: string }).hash;
    const { hash } = db.prepare('SELECT hash FROM audit_records WHERE seq = 5').get() as { hash: string };
    db.prepare('UPDATE audit_records SET record = ? WHERE seq = 5').run(
      `{"hash":"${hash}","prev_hash":"${prev}","purged_by":16,"schema":"custos.purged/v1","seq":5}`,
    );
    db.close();
    store = await createAuditStore(`sqlite:${file}`);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: false, firstBrokenSeq: 5, reason: 'purge_unrecorded', count: 4 });
    const report = await verifyExport(await exportLines(store), { keys: key.keys });
    expect(report.findings[0]).toMatchObject({ kind: 'purge_unrecorded', seq: 5 });
  });

  it('upgrades a format-1 file (append-only triggers without the purge exception) when opened for writing', async () => {
    const old = new Database(file);
    old.exec(`CREATE TABLE audit_records (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, record TEXT NOT NULL) STRICT;
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'custos audit rows are append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records BEGIN SELECT RAISE(ABORT, 'custos audit rows are append-only'); END;
PRAGMA user_version = 1;`);
    old.close();
    store = await createAuditStore(`sqlite:${file}`);
    await store.append(row(1));
    await expect(store.purge!(admin(PURGE_ACTION, { purged: [[1, 1]] }))).resolves.toMatchObject({ purged: 1 });
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 2 });
    await store.close();
    store = undefined;
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
  });

  it('refuses a purge batch that names a row twice or a row that is not there, and writes nothing', async () => {
    await seed();
    const head = await store!.head();
    await expect(store!.purge!(admin(PURGE_ACTION, { purged: [[1, 1]] }))).resolves.toMatchObject({ purged: 1 });
    await expect(store!.purge!(admin(PURGE_ACTION, { purged: [[1, 1]] }))).rejects.toMatchObject({
      code: 'ERR_AUDIT_UNAVAILABLE',
      detail: { reason: 'purge_invalid' },
    });
    await expect(store!.purge!(admin(PURGE_ACTION, { purged: [[90, 91]] }))).rejects.toMatchObject({ detail: { reason: 'purge_invalid' } });
    expect((await store!.head()).seq).toBe(head.seq + 1);
  });
});

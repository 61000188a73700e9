import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosError, GENESIS_HASH, canonicalize } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { computeRecordHash, createAuditStore, verifyChain, verifyStore } from './index.js';
import type { RawRow } from './index.js';
import { collect, makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';

const MARKER = (n: number): string => `ZEBRA-MARKER-${String(n).padStart(4, '0')}`;

/** Writes n records (each with a distinctive marker) and closes the store, WAL checkpointed. */
async function writeTrail(file: string, n: number): Promise<AuditRecord[]> {
  const store = await createAuditStore(`sqlite:${file}`);
  const out: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) out.push(await store.append(makeEntry(i, { detail: { marker: MARKER(i) } })));
  await store.close();
  return out;
}

/** A second connection that has dropped the append-only triggers, as an attacker with file access could. */
function tamper(file: string, action: (db: Database.Database) => void): void {
  const db = new Database(file);
  try {
    db.exec('DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete;');
    action(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

function findAll(haystack: Buffer, needle: Buffer): number[] {
  const out: number[] = [];
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) out.push(at);
  return out;
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

describe('verifyStore', () => {
  let dir: TempDir;
  let file: string;
  let uri: string;
  beforeEach(() => {
    dir = makeTempDir();
    file = join(dir.path, 'audit.sqlite');
    uri = `sqlite:${file}`;
  });
  afterEach(() => dir.remove());

  it('verifies an intact chain of N appends and an empty one', async () => {
    const records = await writeTrail(file, 25);
    expect(await verifyStore(uri)).toEqual({ ok: true, count: 25, head: { seq: 25, hash: records[24]!.hash } });
    const emptyUri = `sqlite:${join(dir.path, 'empty.sqlite')}`;
    await (await createAuditStore(emptyUri)).close();
    expect(await verifyStore(emptyUri)).toEqual({ ok: true, count: 0 });
  });

  it('verifies while a writer has the store open', async () => {
    const store = await createAuditStore(uri);
    try {
      for (let i = 1; i <= 3; i++) await store.append(makeEntry(i));
      expect(await verifyStore(uri)).toMatchObject({ ok: true, count: 3 });
      await store.append(makeEntry(4));
      expect(await verifyStore(uri)).toMatchObject({ ok: true, count: 4 });
    } finally {
      await store.close();
    }
  });

  it('detects one byte changed in a row on disk (file edited with fs)', async () => {
    await writeTrail(file, 5);
    const pristine = readFileSync(file);
    // SQLite may leave a stale copy of a cell in a page's free space after a page split:
    // flip one byte at each copy in turn; the live copy must break the chain, a stale one must not matter.
    const offsets = findAll(pristine, Buffer.from(MARKER(3)));
    expect(offsets.length).toBeGreaterThan(0);
    const reports = [];
    for (const at of offsets) {
      const bytes = Buffer.from(pristine);
      bytes[at] = 'Y'.charCodeAt(0);
      writeFileSync(file, bytes);
      reports.push(await verifyStore(uri));
    }
    const broken = reports.filter((r) => !r.ok);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'hash_mismatch' });
    for (const r of reports.filter((x) => x.ok)) expect(r).toMatchObject({ ok: true, count: 5 });
  });

  it('reports a row whose stored text no longer parses (byte flipped to break JSON)', async () => {
    await writeTrail(file, 5);
    const bytes = readFileSync(file);
    const offsets = findAll(bytes, Buffer.from(`"marker":"${MARKER(4)}"`));
    expect(offsets.length).toBeGreaterThan(0);
    for (const at of offsets) bytes[at] = '{'.charCodeAt(0);
    writeFileSync(file, bytes);
    expect(await verifyStore(uri)).toMatchObject({ ok: false, count: 3, firstBrokenSeq: 4, reason: 'unparseable' });
    const store = await createAuditStore(uri, { readonly: true });
    try {
      await expect(collect(store.read())).rejects.toMatchObject({ code: 'ERR_AUDIT_CHAIN_BROKEN', detail: { seq: 4 } });
      expect((await collect(store.read({ limit: 3 }))).map((r) => r.seq)).toEqual([1, 2, 3]);
    } finally {
      await store.close();
    }
  });

  it('detects a field changed through SQL', async () => {
    await writeTrail(file, 5);
    tamper(file, (db) => db.prepare('UPDATE audit_records SET record = replace(record, \'"sub":"user-123"\', \'"sub":"user-999"\') WHERE seq = 2').run());
    expect(await verifyStore(uri)).toMatchObject({ ok: false, count: 1, firstBrokenSeq: 2, reason: 'hash_mismatch' });
  });

  it('detects a rewritten row whose own hash was recomputed, at the next row', async () => {
    await writeTrail(file, 5);
    tamper(file, (db) => {
      const row = db.prepare('SELECT record FROM audit_records WHERE seq = 3').get() as { record: string };
      const forged = {
        ...(JSON.parse(row.record) as AuditRecord),
        policy: { decision: 'deny' as const, bundle_hash: 'x', determining_policies: [], reasons: [] },
      };
      const hash = computeRecordHash(forged);
      db.prepare('UPDATE audit_records SET record = ?, hash = ? WHERE seq = 3').run(canonicalize({ ...forged, hash }), hash);
    });
    expect(await verifyStore(uri)).toMatchObject({ ok: false, count: 3, firstBrokenSeq: 4, reason: 'prev_hash_mismatch' });
  });

  it('detects a deleted row at the seq of the missing row', async () => {
    await writeTrail(file, 5);
    tamper(file, (db) => db.prepare('DELETE FROM audit_records WHERE seq = 3').run());
    expect(await verifyStore(uri)).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'seq_gap' });
  });

  it('detects rows cut off the end only against a known head', async () => {
    const records = await writeTrail(file, 5);
    tamper(file, (db) => db.prepare('DELETE FROM audit_records WHERE seq >= 4').run());
    expect(await verifyStore(uri)).toMatchObject({ ok: true, count: 3 });
    const expectHead = { seq: 5, hash: records[4]!.hash };
    expect(await verifyStore(uri, { expectHead })).toMatchObject({ ok: false, count: 3, firstBrokenSeq: 4, reason: 'truncated' });
  });

  it('holds a known head that the trail has grown past: the row at its seq must carry its hash', async () => {
    const records = await writeTrail(file, 5);
    expect(await verifyStore(uri, { expectHead: { seq: 3, hash: records[2]!.hash } })).toMatchObject({ ok: true, count: 5 });
    const rebuilt = { seq: 3, hash: 'f'.repeat(64) }; // the head an auditor wrote down before the chain was rebuilt
    expect(await verifyStore(uri, { expectHead: rebuilt })).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'hash_mismatch' });
  });

  it('detects reordered rows and a changed hash column', async () => {
    await writeTrail(file, 5);
    tamper(file, (db) => {
      const get = db.prepare('SELECT hash, record FROM audit_records WHERE seq = ?');
      const [a, b] = [get.get(3), get.get(4)] as { hash: string; record: string }[];
      const put = db.prepare('UPDATE audit_records SET hash = ?, record = ? WHERE seq = ?');
      put.run(b!.hash, b!.record, 3);
      put.run(a!.hash, a!.record, 4);
    });
    expect(await verifyStore(uri)).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'seq_mismatch' });

    const other = join(dir.path, 'other.sqlite');
    await writeTrail(other, 5);
    tamper(other, (db) => db.prepare('UPDATE audit_records SET hash = ? WHERE seq = 5').run('f'.repeat(64)));
    expect(await verifyStore(`sqlite:${other}`)).toMatchObject({ ok: false, count: 4, firstBrokenSeq: 5, reason: 'hash_column_mismatch' });
  });

  it('refuses a file that holds no audit trail', async () => {
    const db = new Database(file);
    db.exec('CREATE TABLE something (x)');
    db.close();
    await expect(verifyStore(uri)).rejects.toMatchObject({ code: 'ERR_AUDIT_STORE_INVALID' });
    writeFileSync(join(dir.path, 'junk.sqlite'), 'this is not a database at all, not even close'.repeat(100));
    const err = await verifyStore(`sqlite:${join(dir.path, 'junk.sqlite')}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect((err as CustosError).code).toBe('ERR_AUDIT_STORE_INVALID');
  });
});

describe('verifyChain', () => {
  async function chain(n: number): Promise<AuditRecord[]> {
    const store = await createAuditStore('sqlite::memory:');
    for (let i = 1; i <= n; i++) await store.append(makeEntry(i));
    const records = await collect(store.read());
    await store.close();
    return records;
  }

  it('accepts records, raw rows and JSONL lines from sync or async iterables', async () => {
    const records = await chain(4);
    const head = { seq: 4, hash: records[3]!.hash };
    expect(await verifyChain(records)).toEqual({ ok: true, count: 4, head });
    expect(await verifyChain(fromArray(records.map((r) => canonicalize(r))))).toEqual({ ok: true, count: 4, head });
    const raw: RawRow[] = records.map((r) => ({ seq: r.seq, hash: r.hash, json: canonicalize(r) }));
    expect(await verifyChain(fromArray(raw))).toEqual({ ok: true, count: 4, head });
  });

  it('reports reordering, regressions, duplicated rows, schema and canonical-form breaks', async () => {
    const r = await chain(5);
    expect(await verifyChain([r[0]!, r[1]!, r[3]!, r[2]!, r[4]!])).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'seq_gap' });
    expect(await verifyChain([r[0]!, r[1]!, r[1]!])).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'seq_regression' });
    expect(await verifyChain([r[1]!])).toMatchObject({ ok: false, count: 0, firstBrokenSeq: 1, reason: 'seq_gap' });
    const wrongSchema = { ...r[0]!, schema: 'custos.audit/v2' } as unknown as AuditRecord;
    expect(await verifyChain([wrongSchema])).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: 'schema_mismatch' });
    expect(await verifyChain([' ' + canonicalize(r[0]!)])).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: 'non_canonical' });
    expect(await verifyChain(['[1,2]'])).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: 'malformed' });
    expect(await verifyChain(['{"schema":'])).toMatchObject({ ok: false, firstBrokenSeq: 1, reason: 'unparseable' });
    const changed = { ...r[2]!, time: '2099-01-01T00:00:00.000Z' };
    expect(await verifyChain([r[0]!, r[1]!, changed])).toMatchObject({ ok: false, count: 2, firstBrokenSeq: 3, reason: 'hash_mismatch' });
  });

  it('verifies a suffix from a known (seq, hash)', async () => {
    const r = await chain(5);
    expect(await verifyChain(r.slice(2), { after: { seq: 2, hash: r[1]!.hash } })).toMatchObject({ ok: true, count: 3 });
    expect(await verifyChain(r.slice(2), { after: { seq: 2, hash: GENESIS_HASH } })).toMatchObject({
      ok: false,
      firstBrokenSeq: 3,
      reason: 'prev_hash_mismatch',
    });
  });
});

import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosError } from '../kernel/index.js';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { collect, makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';
import { createAuditStore } from './registry.js';
import { DEK_MAX_ROWS, createSealer } from './sealing.js';
import type { RecordKeys } from './sealing.js';
import type { AuditStoreAdmin } from './types.js';
import { verifyChain } from './verify-chain.js';

const SECRET_OUTPUT = 'diagnosis: stage II carcinoma, see [redacted:mrn]';
const keyText = (): string => randomBytes(32).toString('base64');
const K1 = keyText();
const K2 = keyText();

/** The registry's record keys with `active` sealing new rows (the app's wiring). */
function keysFor(active: string | undefined, registered: Record<string, string> = { k1: K1, k2: K2 }): RecordKeys {
  return recordKeysOf(createKeyRegistry(Object.entries(registered).map(([id, material]) => ({ id, use: 'encrypt' as const, material }))), active);
}

/** Every byte SQLite wrote for the trail (the database, its WAL and shared memory). */
function bytesOnDisk(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))));
}

describe('encryption at rest (envelope, AES-256-GCM)', () => {
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

  const withOutput = (n: number) => makeEntry(n, { event: 'result', output: { redacted: `${SECRET_OUTPUT} #${n}`, sha256: 'c'.repeat(64) } });

  it('keeps no redacted-output text in clear on disk, and the trail still verifies and reads back', async () => {
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    for (let n = 1; n <= 20; n += 1) await store.append(withOutput(n));
    expect(bytesOnDisk(dir.path).includes(Buffer.from('stage II carcinoma'))).toBe(false);
    expect(bytesOnDisk(dir.path).includes(Buffer.from('custos.sealed/v1'))).toBe(true);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 20 });
    const rows = await collect(store.read());
    expect(rows[4]!.output?.redacted).toBe(`${SECRET_OUTPUT} #5`);
  });

  it('the control: without encryption the same text is on disk in clear', async () => {
    store = await createAuditStore(`sqlite:${file}`);
    await store.append(withOutput(1));
    expect(bytesOnDisk(dir.path).includes(Buffer.from('stage II carcinoma'))).toBe(true);
  });

  it('a key rotated mid-run leaves both halves readable and the whole chain verifiable', async () => {
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    for (let n = 1; n <= 5; n += 1) await store.append(withOutput(n));
    await store.close();
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k2') });
    for (let n = 6; n <= 10; n += 1) await store.append(withOutput(n));
    const db = new Database(file, { readonly: true });
    const kids = (db.prepare('SELECT record FROM audit_records ORDER BY seq').all() as Array<{ record: string }>).map((r) => JSON.parse(r.record).kid);
    db.close();
    expect(kids).toEqual([...Array(5).fill('k1'), ...Array(5).fill('k2')]);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 10 });
    expect((await collect(store.read())).map((r) => r.output?.redacted)).toEqual(Array.from({ length: 10 }, (_, i) => `${SECRET_OUTPUT} #${i + 1}`));
  });

  it('a row sealed under a key that is not registered fails closed, naming the key and the fix', async () => {
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    await store.append(withOutput(1));
    await store.close();
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k2', { k2: K2 }) });
    const err = await collect(store.read()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err).toMatchObject({ code: 'ERR_AUDIT_DECRYPT_FAILED', detail: { seq: 1, key_id: 'k1', reason: 'key_unknown' } });
    expect((err as Error).message).toMatch(/key "k1", which is not in the key registry/);
    await expect(collect(store.readRaw())).rejects.toMatchObject({ code: 'ERR_AUDIT_DECRYPT_FAILED' });
    // Opened without any keys (no --config): the same clear error, never the ciphertext as a record.
    await store.close();
    store = await createAuditStore(`sqlite:${file}`);
    await expect(collect(store.read())).rejects.toMatchObject({ code: 'ERR_AUDIT_DECRYPT_FAILED', detail: { reason: 'key_unknown' } });
  });

  it('another key registered under the same id does not open the rows (the wrapped data key does not authenticate)', async () => {
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    await store.append(withOutput(1));
    await store.close();
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor(undefined, { k1: keyText() }) });
    await expect(collect(store.read())).rejects.toMatchObject({ code: 'ERR_AUDIT_DECRYPT_FAILED', detail: { reason: 'ciphertext_invalid' } });
  });

  it('tampered ciphertext is detected: read fails, verification names the row undecryptable', async () => {
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    for (let n = 1; n <= 3; n += 1) await store.append(withOutput(n));
    await store.close();
    // Someone with write access drops the trigger and flips one byte of row 2's ciphertext.
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_records_no_update');
    const { record } = db.prepare('SELECT record FROM audit_records WHERE seq = 2').get() as { record: string };
    const envelope = JSON.parse(record) as { ct: string };
    const ct = Buffer.from(envelope.ct, 'base64');
    ct[20]! ^= 0x01;
    db.prepare('UPDATE audit_records SET record = ? WHERE seq = 2').run(JSON.stringify({ ...envelope, ct: ct.toString('base64') }));
    db.close();
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    await expect(collect(store.read())).rejects.toMatchObject({ code: 'ERR_AUDIT_DECRYPT_FAILED', detail: { seq: 2, reason: 'ciphertext_invalid' } });
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: false, count: 1, firstBrokenSeq: 2, reason: 'undecryptable' });
  });

  it('a sealed body moved to another row does not open there (the seq is authenticated)', async () => {
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    for (let n = 1; n <= 2; n += 1) await store.append(withOutput(n));
    await store.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_records_no_update');
    const first = (db.prepare('SELECT record FROM audit_records WHERE seq = 1').get() as { record: string }).record;
    db.prepare('UPDATE audit_records SET record = ? WHERE seq = 2').run(first);
    db.close();
    store = await createAuditStore(`sqlite:${file}`, { keys: keysFor('k1') });
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: false, firstBrokenSeq: 2, reason: 'undecryptable' });
  });

  it('draws a fresh data key after DEK_MAX_ROWS rows and when the active key changes', () => {
    const sealer = createSealer(keysFor('k1'));
    const first = sealer.next()!;
    let same = 1;
    for (let i = 1; i < DEK_MAX_ROWS; i += 1) if (sealer.next() === first) same += 1;
    expect(same).toBe(DEK_MAX_ROWS);
    const second = sealer.next()!;
    expect(second.wrapped).not.toBe(first.wrapped);
    expect(second.kid).toBe('k1');
    expect(createSealer(keysFor(undefined)).next()).toBeUndefined();
  });
});

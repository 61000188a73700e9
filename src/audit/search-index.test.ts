/**
 * The search index answers exactly as the scan does, on SQLite and PostgreSQL, including rows not
 * yet indexed; its terms are keyed (no unkeyed hash of a value in it) and rebuilt on a key change;
 * the accounting of disclosures through it is the scan's; one indexer per PostgreSQL deployment.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresForSuite } from '../../test/e2e/postgres.js';
import { migrateStore } from '../app/migrations.js';
import { accountDisclosures, createAuditStore, createPostgresSearchIndex, createSearchIndex, createSqliteSearchIndex, searchTrail } from './index.js';
import type { AuditStoreAdmin, IndexMacKey, SearchIndexBackend } from './index.js';
import { probeEventLoop } from '../kernel/index.test-support.js';
import { makeEntry, makeTempDir } from './index.test-support.js';
import type { AuditQuery } from './search.js';
import type { AuditRecord } from '../kernel/index.js';

/** An HMAC-SHA256 key by shape, as the app hands in a registry key. */
const macKey = (id: string, fill: number): IndexMacKey => ({ id, mac: (data) => createHmac('sha256', Buffer.alloc(32, fill)).update(data).digest() });
const KEY = macKey('index-1', 1);
/** The unkeyed term of a value: what an attacker holding the index would compute for a guess. */
const unkeyed = (field: string, value: string): Buffer => createHash('sha256').update(`${field}\u0000${value}`).digest().subarray(0, 16);
const stateOf = async (backend: SearchIndexBackend) => (await backend.state()).state;

const USERS = ['alice', 'bob', 'carol'];
const TOOLS = ['read_file', 'write_file', 'query'];
const DECISIONS = ['allow', 'deny', 'confirm'] as const;

/** A trail where every field varies with n, some rows naming many paths (more than the index keeps). */
async function generate(store: AuditStoreAdmin, rows: number, from = 1): Promise<void> {
  for (let n = from; n < from + rows; n++) {
    const many =
      n % 97 === 0 ? { input: { redacted: { paths: Array.from({ length: 300 }, (_, i) => `/d${i}/patients/p${n % 5}.json`) }, sha256: 'b'.repeat(64) } } : {};
    await store.append(
      makeEntry(n, {
        event: n % 5 === 0 ? 'deny' : n % 2 ? 'intent' : 'result',
        user: { sub: USERS[n % 3]!, iss: 'https://idp.example/', ...(n % 4 === 0 ? { email: `${USERS[n % 3]}@example.com` } : {}) },
        agent: { name: `agent-${n % 4}`, tier: n % 6 === 0 ? 'background' : 'interactive', delegation_chain: [] },
        ...(n % 11 === 0 ? { tool: undefined } : { tool: { server: n % 2 ? 'fs' : 'db', name: TOOLS[n % 3]!, classes: [] } }),
        data_classes: n % 3 === 0 ? ['phi', 'pii'] : n % 3 === 1 ? ['pii'] : [],
        policy: { decision: DECISIONS[n % 3]!, bundle_hash: 'a'.repeat(64), determining_policies: [], reasons: [] },
        ...(n % 2 ? { input: { redacted: { path: `/records/patients/p${n % 7}/notes.txt` }, sha256: 'b'.repeat(64) } } : {}),
        ...many,
        ...(n % 13 === 0 ? { time: 'not a time' } : {}),
      }),
    );
  }
}

/** The store's rows, each seq noted in `into` as it is read. */
async function* readingInto(rows: AsyncIterable<AuditRecord>, into: number[]): AsyncIterable<AuditRecord> {
  for await (const r of rows) {
    into.push(r.seq);
    yield r;
  }
}

/** The trail's last row, as its append returned it. */
async function lastRecord(store: AuditStoreAdmin): Promise<AuditRecord | undefined> {
  const { seq } = await store.head();
  for await (const r of store.read({ fromSeq: seq, limit: 1 })) return r;
  return undefined;
}

const QUERIES: AuditQuery[] = [
  {},
  { user: 'alice' },
  { user: 'bob@example.com' },
  { agent: 'agent-2', tier: 'interactive' },
  { tool: 'read_file' },
  { tool: 'db/query' },
  { tool: 'undefined/undefined' },
  { decision: 'deny', dataClass: 'phi' },
  { dataClass: 'pii', user: 'carol' },
  { resource: 'p3/notes.txt' },
  { resource: 'patients/p2.json' },
  { resource: '/records/patients/p1/notes.txt' },
  { event: 'intent', resource: 'p1/notes.txt' }, // groups of different sizes (a resource is two terms)
  { event: 'deny' },
  { requestId: 'req-7' },
  { from: '2025-01-01T00:00:30Z', to: '2025-01-01T00:01:10+00:00' },
  { user: 'alice', from: '2025-01-01T00:00:30Z' },
  { user: 'nobody' },
  // Groups of unequal size, three and four of them: the placeholders must bind in the order they stand in the SQL text.
  { event: 'intent', resource: 'p1/notes.txt' },
  { user: 'alice', decision: 'allow', event: 'intent', resource: 'p3/notes.txt' },
];

/** Every page of a search, followed by next_after_seq, as `custos audit search` does. */
async function all(
  search: (q: AuditQuery, p: { afterSeq: number; limit: number }) => Promise<{ records: readonly { seq: number }[]; next_after_seq?: number }>,
  q: AuditQuery,
  limit: number,
) {
  const pages: Array<{ seqs: number[]; next?: number }> = [];
  let after = 0;
  for (;;) {
    const page = await search(q, { afterSeq: after, limit });
    pages.push({ seqs: page.records.map((r) => r.seq), ...(page.next_after_seq !== undefined ? { next: page.next_after_seq } : {}) });
    if (page.next_after_seq === undefined) return pages;
    after = page.next_after_seq;
  }
}

async function compare(store: AuditStoreAdmin, backend: SearchIndexBackend, key?: IndexMacKey): Promise<void> {
  await generate(store, 260);
  const index = createSearchIndex(store, backend, { batchRows: 64, ...(key ? { key } : {}) });
  try {
    // Part indexed, part not: the tail is scanned, so both still agree.
    for (let step = 0; step < 3; step++) {
      for (const q of QUERIES) {
        for (const limit of [7, 1000]) {
          const viaIndex = await all((query, page) => index.search(query, page), q, limit);
          const viaScan = await all((query, page) => searchTrail(store, query, page), q, limit);
          expect(viaIndex, JSON.stringify({ step, q, limit })).toEqual(viaScan);
        }
      }
      if (step === 0) expect(await index.catchUp()).toBe(260);
      if (step === 1) await generate(store, 40, 261);
    }
    expect((await stateOf(backend))?.seq).toBe(260);
    const disclosures = { pathTemplates: ['/records/patients/{patient}/notes.txt', 'patients/{patient}.json'], from: '2025-01-01T00:00:10Z' };
    for (const patient of ['p1', 'p2', 'p6', 'nobody'])
      expect(await index.disclosures(patient, disclosures), patient).toEqual(await accountDisclosures(store, patient, disclosures));
  } finally {
    await index.close();
  }
}

describe('audit search index', () => {
  it('answers as the scan on an SQLite trail, indexed, partly indexed and not indexed', async () => {
    const dir = makeTempDir();
    const store = await createAuditStore(`sqlite:${dir.path}/trail.db`);
    try {
      await compare(store, createSqliteSearchIndex(`${dir.path}/trail.db.search`), KEY);
    } finally {
      await store.close();
      dir.remove();
    }
  }, 60_000);

  it('follows the head in the background', async () => {
    const dir = makeTempDir();
    const store = await createAuditStore(`sqlite:${dir.path}/trail.db`);
    const backend = createSqliteSearchIndex(`${dir.path}/trail.db.search`);
    const index = createSearchIndex(store, backend, { idleMs: 5 });
    try {
      await generate(store, 30);
      index.start();
      await expect.poll(async () => (await stateOf(backend))?.seq, { timeout: 20_000 }).toBe(30);
    } finally {
      await index.close();
      await store.close();
      dir.remove();
    }
  }, 30_000);

  it("waits for another process's lock on the index file on timers (the event loop free), and adds once it is released", async () => {
    const dir = makeTempDir();
    const file = `${dir.path}/trail.db.search`;
    const backend = createSqliteSearchIndex(file, { busyTimeoutMs: 2000 });
    const other = new Database(file);
    try {
      await backend.reset({ keyTag: 'k', seq: 0, legacySeq: 0 });
      other.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      const adding = backend.add([{ seq: 1, ms: 0, terms: [Buffer.alloc(16, 1)] }], 1);
      const loop = await probeEventLoop(started, 40);
      expect(loop.firstTickMs).toBeLessThan(1000); // before: the add slept inside SQLite until the lock was gone or 2 s had passed
      expect(loop.ticks).toBeGreaterThan(3);
      other.exec('COMMIT');
      await adding;
      expect((await backend.state()).state?.seq).toBe(1);
    } finally {
      other.close();
      await backend.close();
      dir.remove();
    }
  });

  /** A fresh SQLite trail of `rows` generated rows, its index file's path, and its bytes (file and WAL). */
  async function withSqliteTrail(rows: number, test: (store: AuditStoreAdmin, file: string, bytes: () => Buffer) => Promise<void>): Promise<void> {
    const dir = makeTempDir();
    const file = `${dir.path}/trail.db.search`;
    const store = await createAuditStore(`sqlite:${dir.path}/trail.db`);
    try {
      await generate(store, rows);
      await test(store, file, () => Buffer.concat([readFileSync(file), readFileSync(`${file}-wal`, { flag: 'a+' })]));
    } finally {
      await store.close();
      dir.remove();
    }
  }
  const seqsOf = (page: { records: readonly { seq: number }[] }) => page.records.map((r) => r.seq);
  const BOB = { user: 'bob@example.com' };

  it('keys its terms: no unkeyed hash of a known email in the file; a key change rebuilds it and search stays right', async () => {
    await withSqliteTrail(60, async (store, file, bytes) => {
      const expected = seqsOf(await searchTrail(store, BOB));
      expect(expected.length).toBeGreaterThan(0);
      for (const key of [KEY, macKey('index-2', 2)]) {
        const index = createSearchIndex(store, createSqliteSearchIndex(file), { key });
        expect(await index.catchUp()).toBe(60);
        expect(seqsOf(await index.search(BOB))).toEqual(expected);
        await index.close();
        expect(bytes().includes(unkeyed('user', 'bob@example.com'))).toBe(false);
        expect(bytes().includes(termKeyOfForTest(key)('user', 'bob@example.com'))).toBe(true); // the keyed term is there: the check can fail
      }
      const backend = createSqliteSearchIndex(file);
      expect((await stateOf(backend))?.keyTag).toMatch(/^hmac:index-2:[0-9a-f]{16}$/);
      await backend.close();
    });
  }, 60_000);

  it("takes the rows this process offered from memory and reads only the others (another writer's, or past the bound), answering as the scan", async () => {
    await withSqliteTrail(10, async (store, file) => {
      const read: number[] = [];
      const counting = { ...store, read: (o?: { fromSeq?: number; limit?: number }) => readingInto(store.read(o), read) };
      const index = createSearchIndex(counting, createSqliteSearchIndex(file), { key: KEY });
      expect(await index.catchUp()).toBe(10);
      read.length = 0;
      // Rows 11-40: offered as appended, but 21-25 appended by "another process" (not offered).
      for (let n = 11; n <= 40; n++) {
        const before = n;
        await generate(store, 1, before);
        if (n < 21 || n > 25) index.offer((await lastRecord(store))!);
      }
      expect(await index.catchUp()).toBe(40);
      expect(read).toEqual([21, 22, 23, 24, 25]); // only the rows not offered
      for (const q of QUERIES) expect(seqsOf(await index.search(q))).toEqual(seqsOf(await searchTrail(store, q)));
      read.length = 0;
      for (let n = 41; n <= 60; n++) {
        await generate(store, 1, n);
        index.offer((await lastRecord(store))!);
      }
      expect(await index.catchUp()).toBe(60);
      expect(read).toEqual([]); // all offered: nothing read back
      for (const q of QUERIES) expect(seqsOf(await index.search(q))).toEqual(seqsOf(await searchTrail(store, q)));
      // An offer past a row that cannot be read (none should be) falls back to reading everything.
      index.offer({ ...(await lastRecord(store))!, seq: 70 });
      await generate(store, 2, 61);
      read.length = 0;
      expect(await index.catchUp()).toBe(62);
      expect(read).toEqual([61, 62]);
      await index.close();
    });
  }, 60_000);

  it('a rolling upgrade: rows an older Custos indexed unkeyed (its mark moved) are dropped and indexed again, keyed', async () => {
    await withSqliteTrail(40, async (store, file, bytes) => {
      const index = createSearchIndex(store, createSqliteSearchIndex(file), { key: KEY });
      expect(await index.catchUp()).toBe(40);
      await generate(store, 20, 41);
      // An older Custos (no state, unkeyed terms) indexes rows 41..60 and moves its own mark.
      const Database = (await import('better-sqlite3')).default;
      const old = new Database(file);
      const stale = unkeyed('user', 'bob@example.com');
      old.prepare('INSERT INTO custos_audit_search_terms (term, seq) VALUES (?, 44)').run(stale);
      old.prepare('UPDATE custos_audit_search_mark SET seq = 60').run();
      old.close();
      expect(bytes().includes(stale)).toBe(true);
      expect(await index.catchUp()).toBe(60);
      expect(bytes().includes(stale)).toBe(false);
      expect(seqsOf(await index.search(BOB))).toEqual(seqsOf(await searchTrail(store, BOB)));
      await index.close();
    });
  }, 60_000);

  describe('on PostgreSQL', () => {
    const db = postgresForSuite();
    /** A database of its own on the suite's server (each test its own trail). */
    async function database(name: string): Promise<string> {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = db.url.replace(/\/custos$/, `/${name}`);
      await migrateStore(url);
      return url;
    }

    it('answers as the scan (tables of migrations 4 and 5); the table holds no unkeyed hash of a known email', async () => {
      const url = await database('compare');
      const store = await createAuditStore(url);
      db.open.push(store);
      await compare(store, createPostgresSearchIndex(url), KEY);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const count = async (t: Buffer) => Number((await client.query('SELECT count(*) AS n FROM custos_audit_search_terms WHERE term = $1', [t])).rows[0].n);
      expect(await count(unkeyed('user', 'bob@example.com'))).toBe(0);
      expect(await count(termKeyOfForTest(KEY)('user', 'bob@example.com'))).toBeGreaterThan(0);
      await client.end();
    }, 120_000);

    it('one indexer per deployment: the second replica searches but does not index; it takes over when the holder dies', async () => {
      const url = await database('indexers');
      const [a, b] = [await createAuditStore(url), await createAuditStore(url)];
      db.open.push(a, b);
      const [backA, backB] = [createPostgresSearchIndex(url), createPostgresSearchIndex(url)];
      const [first, second] = [createSearchIndex(a, backA, { key: KEY }), createSearchIndex(b, backB, { key: KEY })];
      db.open.push(second);
      await generate(a, 30);
      expect(await first.catchUp()).toBe(30);
      await generate(b, 10, 31);
      expect(await backB.lead()).toBe(false);
      expect(await second.catchUp()).toBe(30); // not the indexer: the index stays where the holder left it
      expect((await second.search({ user: 'alice' })).records.map((r) => r.seq)).toEqual((await searchTrail(b, { user: 'alice' })).records.map((r) => r.seq));
      // The holder dies: its connection goes, PostgreSQL releases the lock.
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = 1751737464");
      await admin.end();
      await expect.poll(() => backB.lead(), { timeout: 10_000 }).toBe(true);
      expect(await second.catchUp()).toBe(40);
      expect(await backA.lead()).toBe(false); // the old holder, back, is no longer the indexer
      expect(await first.catchUp()).toBe(40);
      await first.close();
    }, 120_000);
  });
});

/** The keyed term of a value under a key, computed as `termKeyOf` documents it. */
function termKeyOfForTest(key: IndexMacKey): (field: string, value: string) => Buffer {
  const derived = key.mac(Buffer.from('custos.search-index/v1'));
  return (field, value) => createHmac('sha256', derived).update(`${field}\u0000${value}`).digest().subarray(0, 16);
}

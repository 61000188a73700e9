/** The search index answers exactly as the scan does, on SQLite and PostgreSQL, including rows not yet indexed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../test/e2e/postgres.js';
import type { TestPostgres } from '../../test/e2e/postgres.js';
import { migrateStore } from '../app/migrations.js';
import { createAuditStore, createPostgresSearchIndex, createSearchIndex, createSqliteSearchIndex, searchTrail } from './index.js';
import type { AuditStoreAdmin, SearchIndexBackend } from './index.js';
import { makeEntry, makeTempDir } from './index.test-support.js';
import type { AuditQuery } from './search.js';

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

async function compare(store: AuditStoreAdmin, backend: SearchIndexBackend): Promise<void> {
  await generate(store, 260);
  const index = createSearchIndex(store, backend, { batchRows: 64 });
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
    expect(await backend.indexedSeq()).toBe(260);
  } finally {
    await index.close();
  }
}

describe('audit search index', () => {
  it('answers as the scan on an SQLite trail, indexed, partly indexed and not indexed', async () => {
    const dir = makeTempDir();
    const store = await createAuditStore(`sqlite:${dir.path}/trail.db`);
    try {
      await compare(store, createSqliteSearchIndex(`${dir.path}/trail.db.search`));
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
      await expect.poll(() => backend.indexedSeq(), { timeout: 20_000 }).toBe(30);
    } finally {
      await index.close();
      await store.close();
      dir.remove();
    }
  }, 30_000);

  describe('on PostgreSQL', () => {
    let db: TestPostgres;
    beforeAll(async () => {
      db = await startPostgres();
    }, 60_000);
    afterAll(async () => db?.stop());

    it('answers as the scan (tables of migration 4)', async () => {
      await migrateStore(db.url);
      const store = await createAuditStore(db.url);
      try {
        await compare(store, createPostgresSearchIndex(db.url));
      } finally {
        await store.close();
      }
    }, 120_000);
  });
});

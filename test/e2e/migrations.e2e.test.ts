/**
 * Versioned store migrations and a rolling upgrade on one PostgreSQL.
 *
 * There is no release tag yet, so "the previous version" is the commit before versioned
 * migrations (PREVIOUS below): its `src/` is taken from git history into a temporary folder
 * (`git archive`) beside a link to this checkout's node_modules, and its own `startCustos` runs,
 * in this process, next to the current one on the same database, which the current one has
 * migrated. Both serve MCP calls; the trail they write together verifies and holds one intent
 * row per call answered. Without the git history (a shallow clone) that case is skipped, saying
 * so. The migrations themselves are checked on a fresh database: the baseline holds exactly the
 * previous version's tables, each migration applies once even when three replicas start
 * together, and a store ahead of this Custos is reported, not refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, MIGRATIONS, migrateStore } from '../../src/app/index.js';
import type * as AppModule from '../../src/app/index.js';
import { verifyStore } from '../../src/audit/index.js';
import type * as ConfigModule from '../../src/config/index.js';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { startPostgres } from './postgres.js';
import type { TestPostgres } from './postgres.js';

/** The last commit before versioned migrations (and before MCP sessions in the store). */
const PREVIOUS = 'fc30404';

function hasCommit(commit: string): boolean {
  try {
    execFileSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: repoRoot, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const git = (...args: string[]): string => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const havePrevious = hasCommit(PREVIOUS);

describe('store migrations', () => {
  let db: TestPostgres;
  beforeAll(async () => {
    db = await startPostgres();
  }, 120_000);
  afterAll(async () => db?.stop());

  it.skipIf(!havePrevious)("start from the previous version's tables: the baseline creates exactly those", () => {
    const previous = ['src/audit/postgres-store.ts', 'src/audit/rate-counter.ts', 'src/identity/sessions/types.ts']
      .map((f) => git('show', `${PREVIOUS}:${f}`))
      .join('\n')
      .replaceAll('${TABLE}', 'custos_audit_records'); // the trail's table name is a constant in its source
    const created = (text: string): string[] => [...text.matchAll(/CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)/g)].map((m) => m[1]!).sort();
    expect(created(MIGRATIONS[0]!.statements.join('\n'))).toEqual(created(previous));
  });

  it('apply each migration once, even when three replicas start together, and report a store that is ahead', async () => {
    const first = await migrateStore(db.url, { upTo: 1 });
    expect(first).toMatchObject({ version: 1, ahead: false });
    const together = await Promise.all([migrateStore(db.url), migrateStore(db.url), migrateStore(db.url)]);
    expect(together.flatMap((r) => r.applied.map((m) => m.version))).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
    for (const r of together) expect(r).toMatchObject({ version: LATEST_VERSION, ahead: false });
    expect(JSON.stringify(together)).not.toContain(new URL(db.url).password);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("INSERT INTO custos_schema_migrations (version, name, applied_ms) VALUES (999, 'from-the-future', 0)");
    await client.end();
    expect(await migrateStore(db.url)).toMatchObject({ applied: [], version: 999, ahead: true });
  }, 60_000);
});

describe.skipIf(!havePrevious)('a rolling upgrade: the previous version and this one on one PostgreSQL', () => {
  let db: TestPostgres;
  let h: Harness;
  let previousDir: string;
  let previous: { port: number; close(): Promise<void> };
  beforeAll(async () => {
    db = await startPostgres();
    previousDir = mkdtempSync(path.join(tmpdir(), 'custos-previous-'));
    execFileSync('sh', ['-c', `git archive ${PREVIOUS} src package.json examples/quickstart/policy | tar -x -C "${previousDir}"`], { cwd: repoRoot });
    // During a rolling upgrade both versions decide with the bundle the older one reads (a bundle
    // using a newer catalog field is activated once every replica runs the new version).
    const bundleDir = path.join(previousDir, 'examples/quickstart/policy');
    h = await startHarness({ tap: false, busyTimeoutMs: 10_000, bundleDir, configure: (raw) => ({ ...raw, audit: { ...raw.audit, store: db.url } }) });
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(previousDir, 'node_modules'));
    const app = (await import(path.join(previousDir, 'src/app/index.ts'))) as typeof AppModule;
    const config = (await import(path.join(previousDir, 'src/config/index.ts'))) as typeof ConfigModule;
    const raw = { ...h.config, server: { ...h.config.server, port: 0, publicUrl: h.custos.url } };
    previous = await app.startCustos(config.resolveConfig(raw, { source: 'previous-version', baseDir: h.dir }), { logger: app.createLogger('silent') });
  }, 240_000);
  afterAll(async () => {
    await previous?.close();
    await h?.close();
    await db?.stop();
    if (previousDir) rmSync(previousDir, { recursive: true, force: true });
  });

  it('serve calls side by side; the shared trail verifies with one intent row per call answered', async () => {
    const token = await h.token('alice');
    const current = await h.connect(token);
    const old = new Client({ name: 'previous-version-client', version: '1' });
    // The previous version listens on its own port; its public URL (the token audience) is the current one's.
    await old.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${previous.port}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
    );
    const handbook = path.join(h.workspace, 'notes/handbook.md');
    let answered = 0;
    for (let i = 0; i < 4; i++) {
      for (const client of [current, old]) {
        const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } });
        expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
        answered++;
      }
    }
    await old.close();
    expect(await verifyStore(db.url)).toMatchObject({ ok: true });
    expect((await h.auditRecords()).filter((r) => r.event === 'intent')).toHaveLength(answered);
  }, 120_000);
});

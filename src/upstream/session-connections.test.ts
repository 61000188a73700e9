import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCustosError } from '../kernel/index.js';
import { createSilentLogger } from './fakes.test-support.js';
import type { ClientRelay, UpstreamPool } from '../kernel/index.js';
import { createUpstreamPool } from './pool.js';

const everythingJs = join(process.cwd(), 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const ELICIT = 'trigger-elicitation-request';

/** Pids of this process's children running server-everything. */
function everythingPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(everythingJs))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

async function waitFor(check: () => boolean, ms = 8_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A relay that records the elicitations it receives and answers once both sessions were asked (so the calls overlap). */
function createRelay(session: string, seen: Map<string, ElicitRequest['params'][]>, barrier: Promise<void>): ClientRelay {
  seen.set(session, []);
  return {
    session,
    async elicit(_server, params): Promise<ElicitResult> {
      seen.get(session)?.push(params as ElicitRequest['params']);
      await barrier;
      return { action: 'accept', content: { name: `name of ${session}`, check: true } };
    },
    sample: () => Promise.reject(new Error('not expected')),
  };
}

describe('per-session upstream connections (isolation: session)', () => {
  const logger = createSilentLogger();
  let pool: UpstreamPool;
  const upstream = (name: string, isolation: 'shared' | 'session') => ({
    name,
    command: process.execPath,
    args: [everythingJs, 'stdio'],
    isolation,
    maxSessions: 2,
  });

  beforeAll(async () => {
    pool = await createUpstreamPool([upstream('iso', 'session')], { logger, connectTimeoutMs: 20_000 });
  }, 30_000);
  afterAll(async () => {
    await pool.close();
  });

  it('lists tools from the shared connection and opens no session connection for it', () => {
    expect(pool.listTools().some((t) => t.server === 'iso' && t.tool.name === ELICIT)).toBe(true);
    expect(pool.status()[0]).toMatchObject({ state: 'ready', sessions: { open: 0, max: 2 } });
    expect(everythingPids()).toHaveLength(1);
  });

  it('routes each concurrent elicitation to the session whose call raised it, caps sessions, and ends a released session', async () => {
    const seen = new Map<string, ElicitRequest['params'][]>();
    let release = (): void => undefined;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const a = createRelay('session-a', seen, barrier);
    const b = createRelay('session-b', seen, barrier);
    const calls = [a, b].map((relay) => pool.callTool('iso', ELICIT, {}, { relay }) as Promise<{ content: Array<{ text?: string }> }>);
    await waitFor(() => seen.get('session-a')?.length === 1 && seen.get('session-b')?.length === 1);
    release();
    const [resultA, resultB] = await Promise.all(calls);
    expect(JSON.stringify(resultA)).toContain('name of session-a');
    expect(JSON.stringify(resultA)).not.toContain('name of session-b');
    expect(JSON.stringify(resultB)).toContain('name of session-b');
    expect(pool.status()[0]?.sessions).toEqual({ open: 2, max: 2 });
    const pids = everythingPids();
    expect(pids).toHaveLength(3); // the shared one and one per session

    const third = createRelay('session-c', seen, Promise.resolve());
    const refused = await pool.callTool('iso', 'echo', { message: 'x' }, { relay: third }).catch((e: unknown) => e);
    expect(isCustosError(refused) && refused.code).toBe('ERR_GATEWAY_SESSION_LIMIT');
    expect(seen.get('session-c')).toEqual([]);
    // a call without a session relay still goes to the shared connection
    expect(await pool.callTool('iso', 'echo', { message: 'shared' })).toMatchObject({ content: [{ text: 'Echo: shared' }] });

    await pool.releaseSession?.('session-a');
    expect(pool.status()[0]?.sessions?.open).toBe(1);
    await waitFor(() => everythingPids().length === 2);
    // the freed slot is usable by another session
    expect(await pool.callTool('iso', 'echo', { message: 'c' }, { relay: third })).toMatchObject({ content: [{ text: 'Echo: c' }] });
    expect(pool.status()[0]?.sessions?.open).toBe(2);
  }, 40_000);

  it('closes every per-session process with the pool', async () => {
    await pool.close();
    await waitFor(() => everythingPids().length === 0);
    expect(pool.status()[0]?.sessions?.open).toBe(0);
  }, 20_000);
});

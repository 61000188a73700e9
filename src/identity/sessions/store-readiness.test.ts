import { describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import { failClosedSessionStore } from './fail-closed-store.js';
import { checkSessionStore } from './store-readiness.js';
import type { McpSessionRecord } from '../../kernel/index.js';

const storeThat = (getMcpSession: () => Promise<McpSessionRecord | undefined>) => failClosedSessionStore({ getMcpSession });

describe('session store readiness', () => {
  it('is ok when the probe read answers', async () => {
    expect(
      await checkSessionStore(
        storeThat(async () => undefined),
        1000,
      ),
    ).toEqual({ state: 'ok' });
  });

  it('is failing (unreachable) when the read fails: a refused connection, a locked file', async () => {
    const refused = storeThat(() => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })));
    expect(await checkSessionStore(refused, 1000)).toEqual({ state: 'failing', reason: 'unreachable' });
    const locked = storeThat(() => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    });
    expect(await checkSessionStore(locked, 1000)).toEqual({ state: 'failing', reason: 'unreachable' });
  });

  it('is failing (timeout) when the read hangs past the deadline, and never waits longer', async () => {
    const started = performance.now();
    const hung = storeThat(() => new Promise<McpSessionRecord | undefined>(() => undefined));
    expect(await checkSessionStore(hung, 50)).toEqual({ state: 'failing', reason: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('lets an error that is not an outage through (a bug is not "not ready")', async () => {
    const bug = storeThat(() => Promise.reject(new CustosError('ERR_INTERNAL')));
    await expect(checkSessionStore(bug, 1000)).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });
});

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isCustosError } from '../kernel/index.js';
import { createSilentLogger, createTempDir } from './fakes.test-support.js';
import type { UpstreamEvent } from '../kernel/index.js';
import { createUpstreamPool } from './pool.js';
import { createRelayRouter } from './requests.js';

const everything = join(process.cwd(), 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

describe('an upstream that dies', () => {
  it('is reported failed, restarted with backoff, logged, and ready again', async () => {
    const dir = createTempDir();
    const marker = join(dir, 'died-once');
    const die = join(dir, 'die');
    // First run: a real server that exits once the test has seen it ready (it writes `die`).
    // Later runs: the same server, staying up.
    const script = join(dir, 'flaky.mjs');
    writeFileSync(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
       if (!existsSync(${JSON.stringify(marker)})) {
         setInterval(() => { if (existsSync(${JSON.stringify(die)})) { writeFileSync(${JSON.stringify(marker)}, '1'); process.exit(3); } }, 50);
       }
       process.argv[2] = 'stdio';
       await import(${JSON.stringify(everything)});`,
    );
    const logger = createSilentLogger();
    const pool = await createUpstreamPool([{ name: 'flaky', command: process.execPath, args: [script] }], { logger, restartBaseMs: 200 });
    const events: UpstreamEvent[] = [];
    pool.onEvent((e) => events.push(e));
    try {
      expect(pool.status()[0]).toMatchObject({ state: 'ready' });
      writeFileSync(die, '');
      await vi.waitFor(() => expect(pool.status()[0]).toMatchObject({ state: 'failed', error: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' }), { timeout: 5000 });
      const down = await pool.callTool('flaky', 'echo', { message: 'x' }).catch((e: unknown) => e);
      expect(isCustosError(down) && down.code).toBe('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
      await vi.waitFor(() => expect(pool.status()[0]).toMatchObject({ state: 'ready', restarts: 1 }), { timeout: 10_000 });
      expect(existsSync(marker)).toBe(true);
      expect(pool.listTools().some((t) => t.tool.name === 'echo')).toBe(true);
      const result = (await pool.callTool('flaky', 'echo', { message: 'back' })) as { content: { text: string }[] };
      expect(result.content[0]?.text).toContain('back');
      expect(logger.lines.some((l) => l.obj.upstream === 'flaky' && l.obj.delayMs === 200)).toBe(true);
      expect(logger.lines.some((l) => l.obj.upstream === 'flaky' && l.obj.restart === 1)).toBe(true);
      expect(events.filter((e) => e.type === 'status_changed').length).toBeGreaterThanOrEqual(2);
    } finally {
      await pool.close();
    }
  }, 20_000);

  it('keeps retrying an upstream that never starts, with growing delays', async () => {
    const logger = createSilentLogger();
    const pool = await createUpstreamPool([{ name: 'never', command: join(createTempDir(), 'missing') }], { logger, restartBaseMs: 50, restartMaxMs: 400 });
    try {
      const delays = (): number[] =>
        logger.lines.filter((l) => l.obj.upstream === 'never' && typeof l.obj.delayMs === 'number').map((l) => l.obj.delayMs as number);
      // wait for the fourth scheduled retry, not only the third restart: under load the log line of the next delay can trail the count
      await vi.waitFor(() => expect(delays().length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
      expect(pool.status()[0]?.restarts).toBeGreaterThanOrEqual(3);
      expect(delays().slice(0, 4)).toEqual([50, 100, 200, 400]);
      expect(pool.status()[0]).toMatchObject({ state: 'failed', nextRetryAt: expect.any(String) });
    } finally {
      await pool.close();
    }
  });
});

describe('routing server-to-client requests', () => {
  const relay = (session: string) => ({
    session,
    elicit: async () => ({ action: 'decline' as const }),
    sample: async () => ({ model: session, role: 'assistant' as const, content: { type: 'text' as const, text: session } }),
  });

  it('relays to the one session with calls in flight, and refuses when none or several are', async () => {
    const router = createRelayRouter(createSilentLogger());
    await expect(router.route('up', (r) => r.sample('up', { messages: [], maxTokens: 1 }, new AbortController().signal))).rejects.toThrow(/attribute/);
    const leaveA = router.enter('up', relay('a'));
    const leaveA2 = router.enter('up', relay('a'));
    const result = await router.route('up', (r) => r.sample('up', { messages: [], maxTokens: 1 }, new AbortController().signal));
    expect(result.model).toBe('a');
    const leaveB = router.enter('up', relay('b'));
    await expect(router.route('up', async (r) => r.session)).rejects.toThrow(/attribute/);
    leaveA();
    leaveA2();
    expect(await router.route('up', async (r) => r.session)).toBe('b');
    leaveB();
    await expect(router.route('up', async (r) => r.session)).rejects.toThrow(/attribute/);
  });
});

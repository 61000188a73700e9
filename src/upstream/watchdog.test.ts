import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSilentLogger, createTempDir } from './fakes.test-support.js';
import { createUpstreamPool } from './pool.js';
import { watchdogScript, watchedCommand } from './watchdog.js';

const stubborn = join(process.cwd(), 'test/e2e/fixtures/stubborn-upstream.mjs');

/** A process that ignores SIGTERM, SIGINT and SIGHUP, writes its pid to `pidFile` and runs until SIGKILL. */
function sleeperSource(pidFile: string): string {
  return `for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => undefined);
    require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    setInterval(() => undefined, 1000);`;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const started: number[] = [];

async function pidFrom(file: string): Promise<number> {
  await vi.waitFor(() => expect(existsSync(file) && readFileSync(file, 'utf8') !== '').toBe(true), { timeout: 10_000 });
  const pid = Number(readFileSync(file, 'utf8'));
  started.push(pid);
  return pid;
}

afterEach(() => {
  for (const pid of started.splice(0)) if (running(pid)) process.kill(pid, 'SIGKILL'); // a failed test leaves no orphan behind
});

describe.skipIf(process.platform === 'win32')('the upstream watchdog', () => {
  it('wraps a stdio command: this node, the script, this process id, then the command as given', () => {
    expect(watchdogScript()).toMatch(/bin\/custos-upstream-watchdog\.js$/);
    expect(watchedCommand('npx', ['-y', 'server'], 42)).toEqual({ command: process.execPath, args: [watchdogScript(), '42', '--', 'npx', '-y', 'server'] });
  });

  it('ends the whole group, even processes that ignore SIGTERM, once its parent is killed with SIGKILL', async () => {
    const dir = createTempDir();
    const pidFile = join(dir, 'sleeper.pid');
    // A stand-in for Custos: it launches the watchdog bound to itself, then is killed with SIGKILL.
    const tail = JSON.stringify(['--', process.execPath, '-e', sleeperSource(pidFile)]);
    const launch = `require('node:child_process').spawn(process.execPath, [${JSON.stringify(watchdogScript())}, String(process.pid), ...${tail}], { stdio: 'ignore' });
      setInterval(() => undefined, 1000);`;
    const custos = spawn(process.execPath, ['-e', launch], { stdio: 'ignore' });
    const sleeper = await pidFrom(pidFile);
    expect(running(sleeper)).toBe(true);
    custos.kill('SIGKILL');
    await vi.waitFor(() => expect(running(sleeper)).toBe(false), { timeout: 10_000, interval: 100 });
  }, 20_000);

  it('leaves nothing behind when the pool closes an upstream that ignores SIGTERM and started a helper', async () => {
    const dir = createTempDir();
    const pidFile = join(dir, 'helper.pid');
    const server = join(dir, 'server-with-helper.mjs');
    writeFileSync(
      server,
      `import { spawn } from 'node:child_process';
       spawn(process.execPath, ['-e', ${JSON.stringify(sleeperSource(pidFile))}], { stdio: 'ignore' });
       await import(${JSON.stringify(stubborn)});`,
    );
    const pool = await createUpstreamPool([{ name: 'stubborn', command: process.execPath, args: [server] }], {
      logger: createSilentLogger(),
      connectTimeoutMs: 10_000,
    });
    expect(pool.status()[0]).toMatchObject({ state: 'ready' });
    const helper = await pidFrom(pidFile);
    await pool.close();
    await vi.waitFor(() => expect(running(helper)).toBe(false), { timeout: 10_000, interval: 100 });
  }, 30_000);
});

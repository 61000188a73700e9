/**
 * Upstream children die with Custos (issue 7, defect 8): `custos serve` runs as its own
 * process, as in production; after `kill -9` of it, every process it started for its stdio
 * upstreams (the filesystem server behind the recording tap) is gone within a few seconds.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly stat: string;
  readonly args: string;
}

function processTable(): Proc[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4)
    .map(([pid, ppid, stat, ...args]) => ({ pid: Number(pid), ppid: Number(ppid), stat: stat!, args: args.join(' ') }));
}

/** Every live descendant of `root`. */
function descendantsOf(root: number): Proc[] {
  const table = processTable();
  const out: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    const children = table.filter((p) => p.ppid === parent && !p.stat.startsWith('Z'));
    out.push(...children);
    queue.push(...children.map((p) => p.pid));
  }
  return out;
}

/** Those of `pids` still running (a zombie waiting for its reaper counts as gone). */
function alive(pids: readonly number[]): number[] {
  const live = new Set(
    processTable()
      .filter((p) => !p.stat.startsWith('Z'))
      .map((p) => p.pid),
  );
  return pids.filter((pid) => live.has(pid));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe.skipIf(process.platform === 'win32')('upstream children die with Custos', () => {
  let h: Harness;
  let pids: number[] = [];

  beforeAll(async () => {
    // A stubborn upstream too: it ignores SIGTERM and a closed stdin, so only a group SIGKILL ends it.
    const stubborn = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/stubborn-upstream.mjs');
    h = await startHarness({
      outOfProcess: true,
      configure: (raw) => ({ ...raw, upstreams: [...(raw.upstreams ?? []), { name: 'stubborn', command: process.execPath, args: [stubborn] }] }),
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    for (const pid of alive(pids)) process.kill(pid, 'SIGKILL'); // never leave a test's orphans behind
  });

  it('kill -9 of custos serve takes its upstream processes with it', async () => {
    const custos = h.custos.pid!;
    const client = await h.connect(await h.token('alice'));
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('filesystem__read_text_file');
    const children = descendantsOf(custos);
    // the tap, the filesystem server behind it and the stubborn server (plus what launches them)
    for (const script of ['stdio-tap.mjs', 'server-filesystem', 'stubborn-upstream.mjs']) expect(children.map((p) => p.args).join('\n')).toContain(script);
    pids = children.map((p) => p.pid);

    process.kill(custos, 'SIGKILL');
    const gone = await waitUntil(() => alive(pids).length === 0, 15_000);
    expect(gone, `still running after kill -9 of custos: ${alive(pids).join(', ')}`).toBe(true);
  }, 60_000);
});

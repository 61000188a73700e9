/**
 * `npm run bench -- intent-overlap`: the overlap lever of issue 8 on its own, in one process,
 * with the real parts: the kernel pipeline on the quick-start bundle (Cedar), the protect
 * module, the SQLite audit store (writer thread, WAL, synchronous=FULL) on the local disk, and
 * @modelcontextprotocol/server-filesystem over stdio as the upstream (the SDK client reads a
 * 1 KiB file). Four measurements, interleaved call by call (the order rotates):
 *
 *  - the upstream round trip alone, and one durable append alone (the two parts);
 *  - `pipeline.run` of the read-only call forwarded after its intent row is durable (`quiet` off);
 *  - the same with the overlap (`quiet` on): forwarded while the intent row is being written.
 *
 * BENCH_N calls each (default 1000) after 100 warm-up. Not a test: prints a table.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createSqliteAuditStore } from '../src/audit/sqlite-store.js';
import { makeEntry } from '../src/audit/index.test-support.js';
import { createPipeline } from '../src/kernel/index.js';
import type { ToolCall } from '../src/kernel/index.js';
import { createPolicySource, loadBundle } from '../src/policy/index.js';
import { createProtector } from '../src/protect/index.js';
import { repoRoot, serverFilesystem } from '../test/e2e/harness.js';
import { formatMs, summarize, time } from './stats.js';

const N = Number(process.env.BENCH_N ?? 1000);
const WARMUP = 100;

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-overlap-'));
  const workspace = path.join(dir, 'workspace');
  cpSync(path.join(repoRoot, 'examples/quickstart/workspace'), workspace, { recursive: true });
  const file = path.join(workspace, 'notes/bench-1k.md');
  writeFileSync(file, 'The handbook says: wash hands before and after every visit.\n'.repeat(20).slice(0, 1024));
  const store = await createSqliteAuditStore(`sqlite:${path.join(dir, 'audit.sqlite')}`, {});
  const client = new Client({ name: 'custos-bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [serverFilesystem, workspace], stderr: 'ignore' }));
  try {
    const bundle = await loadBundle(path.join(repoRoot, 'examples/quickstart/policy'));
    let n = 0;
    const pipeline = createPipeline({
      policy: createPolicySource(bundle.policy),
      protector: createProtector({ roots: { filesystem: [workspace] } }),
      audit: store,
      clock: { now: () => new Date() },
      ids: { newId: () => `id-${n++}` },
    });
    const call = (): ToolCall => ({
      requestId: `req-${n++}`,
      kind: 'tool',
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: file },
      principal: { sub: 'alice', iss: 'https://idp.example', roles: ['clinician'], groups: [] },
      agent: { name: 'bench-agent', tier: 'interactive', delegationChain: ['user:alice', 'agent:bench-agent'] },
    });
    const forward = () => client.callTool({ name: 'read_text_file', arguments: { path: file } });
    const runOnce = async (quiet: boolean): Promise<void> => {
      const result = await pipeline.run(call(), forward, { quiet });
      if (!result.forwarded || result.failed) throw new Error(`the call was not answered: ${result.authorization.decision.reasons.join(', ')}`);
    };
    const modes: [string, () => Promise<unknown>][] = [
      ['upstream round trip alone (SDK client, stdio)', forward],
      ['one durable append alone (intent-sized row)', () => store.append(makeEntry(1))],
      ['pipeline.run, forwarded after the intent row is durable', () => runOnce(false)],
      ['pipeline.run, forwarded while the intent row is written (overlap)', () => runOnce(true)],
    ];
    for (let i = 0; i < WARMUP; i++) for (const [, fn] of modes) await fn();
    const samples = modes.map(() => [] as number[]);
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < modes.length; k++) {
        const m = (i + k) % modes.length;
        samples[m]!.push(await time(modes[m]![1]));
      }
    }
    console.log(`Intent-row overlap, ${N} calls per row after ${WARMUP} warm-up, interleaved (read_text_file of 1 KiB; SQLite on ${dir})`);
    console.log('| measured | p50 | p90 | p99 |');
    console.log('|---|---|---|---|');
    const stats = samples.map(summarize);
    modes.forEach(([name], i) => console.log(`| ${name} | ${formatMs(stats[i]!.p50)} | ${formatMs(stats[i]!.p90)} | ${formatMs(stats[i]!.p99)} |`));
    const [, , after, overlap] = stats;
    console.log(
      `| saved by the overlap | ${formatMs(after!.p50 - overlap!.p50)} | ${formatMs(after!.p90 - overlap!.p90)} | ${formatMs(after!.p99 - overlap!.p99)} |`,
    );
  } finally {
    await client.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A changed byte in the SQLite file is found by `custos audit verify`, which names the row. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

function custos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/custos.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('audit verify on a real trail', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const client = await h.connect(await h.token('alice'));
    for (const file of ['notes/handbook.md', 'phi/patient-0002.md', 'notes/billing-codes.csv']) {
      await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, file) } });
    }
    await h.custos.close(); // checkpoints the WAL into the main file
  });
  afterAll(async () => h?.close());

  it('passes on the intact trail and exports it as JSON lines', () => {
    const ok = custos('audit', 'verify', '--store', h.storeUri);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/intact: \d+ records/);
    const exported = custos('audit', 'export', '--format', 'jsonl', '--store', h.storeUri);
    expect(exported.status).toBe(0);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((r) => r.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.some((r) => r.event === 'result' && r.tool?.name === 'read_text_file')).toBe(true);
  });

  it('fails naming the first broken seq after one byte of one row is changed in the file', () => {
    const bytes = readFileSync(h.storeFile);
    const needle = Buffer.from('Medical Record Number');
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    bytes[at] = 'm'.charCodeAt(0); // "Medical" -> "medical"
    writeFileSync(h.storeFile, bytes);
    const exported = custos('audit', 'export', '--store', h.storeUri);
    const tampered = exported.stdout.split('\n').find((l) => l.includes('medical Record Number'));
    const seq = tampered ? (JSON.parse(tampered) as { seq: number }).seq : undefined;
    const broken = custos('audit', 'verify', '--store', h.storeUri);
    expect(broken.status).toBe(1);
    expect(seq).toBeGreaterThan(0);
    expect(broken.stderr).toContain(`BROKEN at seq ${seq}`);
  });
});

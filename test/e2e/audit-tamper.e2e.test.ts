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
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((r) => r.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.some((r) => r.event === 'result' && r.tool?.name === 'read_text_file')).toBe(true);
  });

  it('fails naming the first broken seq after one byte of one row is changed in the file', () => {
    const original = readFileSync(h.storeFile);
    const row = custos('audit', 'export', '--store', h.storeUri)
      .stdout.split('\n')
      .find((l) => l.includes('Medical Record Number'));
    expect(row).toBeDefined();
    const seq = (JSON.parse(row!) as { seq: number }).seq;
    // The text may stand more than once in the row (content and structuredContent), and SQLite
    // may keep stale copies in free page space: flip each occurrence in turn. Every flip of
    // the live row must break the chain at that row's seq; none may break another row.
    const needle = Buffer.from('Medical Record Number');
    const verdicts: string[] = [];
    for (let at = original.indexOf(needle); at >= 0; at = original.indexOf(needle, at + 1)) {
      const bytes = Buffer.from(original);
      bytes[at] = 'm'.charCodeAt(0); // "Medical" -> "medical"
      writeFileSync(h.storeFile, bytes);
      const verify = custos('audit', 'verify', '--store', h.storeUri);
      verdicts.push(verify.status === 0 ? 'intact' : verify.stderr.trim());
    }
    writeFileSync(h.storeFile, original);
    const broken = verdicts.filter((v) => v !== 'intact');
    expect(broken.length).toBeGreaterThanOrEqual(1);
    for (const verdict of broken) expect(verdict).toContain(`BROKEN at seq ${seq}`);
    expect(custos('audit', 'verify', '--store', h.storeUri).status).toBe(0);
  });
});

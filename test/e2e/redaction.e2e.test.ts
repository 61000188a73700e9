/**
 * Issue 11's "must show", end to end through the real gateway: the quick-start patient note
 * loses every identifier, placeholders come back untouched, and a bundle's allow-list and
 * custom pattern both take effect with the rows naming the rule that fired.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

type TextResult = { isError?: boolean; content: Array<{ type: string; text?: string }> };
const textOf = (r: unknown): string => (r as TextResult).content.map((c) => c.text ?? '').join('\n');
const lastResult = (records: AuditRecord[]): AuditRecord => records.filter((r) => r.event === 'result').at(-1)!;

async function read(h: Harness, token: string, file: string): Promise<string> {
  const result = await (await h.connect(token)).callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, file) } });
  expect(result.isError ?? false).toBe(false);
  return textOf(result);
}

describe('redaction end to end, quick-start bundle', () => {
  let h: Harness;
  let alice: string;

  beforeAll(async () => {
    h = await startHarness();
    alice = await h.token('alice');
  });
  afterAll(async () => h?.close());

  it('the quick-start patient note comes back with no name, date of birth, SSN, MRN, address or phone in clear', async () => {
    const text = await read(h, alice, 'phi/patient-0001.md');
    for (const clear of ['Jane', 'Example', '1961-04-12', '123-45-6789', '00482913', '42 Example Street', '62704', '201-4477', 'jane.example@example.test']) {
      expect(text).not.toContain(clear);
    }
    for (const m of ['name', 'date', 'ssn', 'mrn', 'address', 'phone', 'email']) expect(text).toContain(`[redacted:${m}]`);
    expect(text).toContain('Type 2 diabetes'); // the clinical content stays
    const row = lastResult(await h.auditRecords());
    expect(row.redactions.rules?.map((r) => r.rule)).toEqual(
      expect.arrayContaining(['person-name', 'person-date', 'ssn', 'mrn', 'street-address', 'phone-nanp']),
    );
    expect(JSON.stringify(row)).not.toContain('1961-04-12');
  });

  it('placeholders and environment lookups come back unchanged', async () => {
    const lines = [
      'password: <REDACTED>',
      'token = os.environ["GITHUB_TOKEN"]',
      'const key = process.env.API_KEY;',
      'commit 4111111111111111a0c3e9f2b7d6a5c4e3f2a1b0',
    ].join('\n');
    writeFileSync(path.join(h.workspace, 'notes/deploy.md'), lines);
    expect(await read(h, alice, 'notes/deploy.md')).toBe(lines);
    expect(lastResult(await h.auditRecords()).redactions.count).toBe(0);
  });
});

describe('redaction end to end, a bundle with an allow-list and a custom pattern', () => {
  let h: Harness;
  let alice: string;
  let bundleDir: string;

  beforeAll(async () => {
    bundleDir = mkdtempSync(path.join(tmpdir(), 'custos-bundle-'));
    cpSync(path.join(repoRoot, 'examples/quickstart/policy'), bundleDir, { recursive: true });
    const catalog = readFileSync(path.join(bundleDir, 'catalog.yaml'), 'utf8');
    writeFileSync(
      path.join(bundleDir, 'catalog.yaml'),
      `${catalog}\nredaction:\n  allow: ["(555) 210-0199"]\n  patterns:\n    - { id: ticket-id, type: ticket, pattern: "TCK-[0-9]{6}" }\n`,
    );
    h = await startHarness({ bundleDir });
    alice = await h.token('alice');
  });
  afterAll(async () => {
    await h?.close();
    rmSync(bundleDir, { recursive: true, force: true });
  });

  it('both take effect, and the result row says which rule fired (type and count, never the value)', async () => {
    writeFileSync(path.join(h.workspace, 'notes/ticket.md'), 'Ticket TCK-004211: call support (555) 210-0199, not the patient at (555) 201-4477.\n');
    const text = await read(h, alice, 'notes/ticket.md');
    expect(text).toBe('Ticket [redacted:ticket]: call support (555) 210-0199, not the patient at [redacted:phone].\n');
    // The filesystem server returns the text twice (a text block and structuredContent): every count is per occurrence.
    const row = lastResult(await h.auditRecords());
    const copies = row.redactions.count / 2;
    expect(row.redactions).toMatchObject({
      count: 2 * copies,
      types: ['phone', 'ticket'],
      rules: [
        { rule: 'custom:ticket-id', type: 'ticket', count: copies },
        { rule: 'phone-nanp', type: 'phone', count: copies },
      ],
      allowed: copies,
    });
    expect(JSON.stringify(row)).not.toContain('TCK-004211');
    expect(JSON.stringify(row)).not.toContain('201-4477');
  });

  it('the bundle hash covers the redaction section', async () => {
    const quickstart = await startHarness();
    try {
      expect(h.custos.bundleHash).not.toBe(quickstart.custos.bundleHash);
    } finally {
      await quickstart.close();
    }
  });
});

describe('file-read gating end to end: ~/.aws/credentials through a symlink in the workspace', () => {
  let h: Harness;
  let alice: string;
  const secretKey = `wJalrXUtnFEMI${'K7MDENGbPxRfiCY'}Zz81q0aLq2`;

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw, { dir }) => {
        // A home directory outside the workspace, which the filesystem server may also read.
        const home = path.join(dir, 'home');
        mkdirSync(path.join(home, '.aws'), { recursive: true });
        writeFileSync(
          path.join(home, '.aws/credentials'),
          `[default]\naws_access_key_id = AKIAQ3ZP7RT2MNB4KXWY\naws_secret_access_key = ${secretKey}\nregion = eu-west-1\n`,
        );
        symlinkSync(path.join(home, '.aws/credentials'), path.join(dir, 'workspace/notes/setup-notes.txt'));
        const [fs] = raw.upstreams!;
        return { ...raw, upstreams: [{ ...fs!, args: [...(fs!.args ?? []), home] }] };
      },
    });
    alice = await h.token('alice');
  });
  afterAll(async () => h?.close());

  it('is classed as a cloud credential (the class is in the row) and read in secret-file mode, as the policy says', async () => {
    const text = await read(h, alice, 'notes/setup-notes.txt');
    expect(text).not.toContain(secretKey);
    expect(text).not.toContain('AKIAQ3ZP7RT2MNB4KXWY');
    expect(text).toContain('region = [redacted:secret]'); // secret-file mode: every value goes
    const records = await h.auditRecords();
    const intent = records.filter((r) => r.event === 'intent').at(-1)!;
    expect(intent.data_classes).toEqual(['cloud_credentials', 'secret_file']);
    expect(lastResult(records).data_classes).toEqual(['cloud_credentials', 'secret_file']);
  });

  it('the same path, relative to the upstream root, is classed the same', async () => {
    const result = await (await h.connect(alice)).callTool({ name: 'filesystem__get_file_info', arguments: { path: 'notes/setup-notes.txt' } });
    expect(result).toBeDefined();
    const row = (await h.auditRecords()).filter((r) => r.event === 'intent' || r.event === 'deny').at(-1)!;
    expect(row.data_classes).toEqual(['cloud_credentials', 'secret_file']);
  });
});

/**
 * Issue 10's "must show" for encryption at rest, through the real gateway: with
 * `audit.encryption` on, a real tool call's redacted output is in the trail (read back with
 * the keys) but nowhere in the bytes of the trail files, and the trail still verifies: in the
 * database with the keys, and offline from its export with the checkpoint public key alone. The
 * search index beside the trail holds its terms keyed (`audit.search.indexKey`): no unkeyed hash
 * of the user in it.
 * A decision-API authorization pending in the shared store is sealed too, and still completes.
 */
import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVerifyKeys, verifyChain, verifyExport } from '../../src/audit/index.js';
import { canonicalize } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

type TextResult = { content: Array<{ type: string; text?: string }> };

describe('encryption at rest, end to end', () => {
  let h: Harness;
  const ed = generateKeyPairSync('ed25519');
  const indexKey = randomBytes(32);
  beforeAll(async () => {
    h = await startHarness({
      configure: (raw, { dir }) => {
        writeFileSync(path.join(dir, 'trail.key'), randomBytes(32).toString('base64'));
        writeFileSync(path.join(dir, 'index.key'), indexKey.toString('base64'));
        writeFileSync(path.join(dir, 'checkpoint.pem'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
        return {
          ...raw,
          keys: [
            { id: 'trail-1', use: 'encrypt', ref: 'file:trail.key' },
            { id: 'cp', use: 'sign', ref: 'file:checkpoint.pem' },
            { id: 'index-1', use: 'hmac', ref: 'file:index.key' },
          ],
          audit: {
            ...raw.audit,
            encryption: { key: 'trail-1' },
            checkpoints: { signingKey: 'key:cp', everyRows: 1, everySec: 3600 },
            search: { ...raw.audit?.search, indexKey: 'index-1' },
          },
        };
      },
    });
  });
  afterAll(async () => h?.close());

  it('the redacted output of a real call is not in clear on disk; the trail verifies with the keys and its export offline', async () => {
    const client = await h.connect(await h.token('alice'));
    const result = (await client.callTool({
      name: 'filesystem__read_text_file',
      arguments: { path: path.join(h.workspace, 'phi/patient-0001.md') },
    })) as TextResult;
    const text = result.content.map((c) => c.text ?? '').join('\n');
    expect(text).toContain('Type 2 diabetes');
    expect(text).toContain('[redacted:ssn]');

    const rows = await h.auditRecords();
    const resultRow = rows.filter((r) => r.event === 'result').at(-1)!;
    expect(JSON.stringify(resultRow.output?.redacted)).toContain('Type 2 diabetes'); // the trail holds it…

    // The search index (audit.sqlite.search) has indexed the call: its keyed term for the user is there, the unkeyed one is not.
    const term = (key: Buffer | undefined, value: string): Buffer =>
      (key ? createHmac('sha256', key) : createHash('sha256')).update(`user\u0000${value}`).digest().subarray(0, 16);
    const derived = createHmac('sha256', indexKey).update('custos.search-index/v1').digest();
    const indexBytes = () =>
      Buffer.concat(
        readdirSync(h.dir)
          .filter((f) => f.startsWith('audit.sqlite.search'))
          .map((f) => readFileSync(path.join(h.dir, f))),
      );
    await expect.poll(() => indexBytes().includes(term(derived, resultRow.user.sub!)), { timeout: 20_000 }).toBe(true);
    expect(indexBytes().includes(term(undefined, resultRow.user.sub!))).toBe(false);

    const trailFiles = readdirSync(h.dir).filter((f) => f.startsWith('audit.sqlite'));
    expect(trailFiles).toEqual(expect.arrayContaining(['audit.sqlite', 'audit.sqlite.search']));
    const disk = Buffer.concat(trailFiles.map((f) => readFileSync(path.join(h.dir, f))));
    for (const clear of ['Type 2 diabetes', '[redacted:ssn]', 'patient-0001']) expect(disk.includes(Buffer.from(clear)), clear).toBe(false); // …never in clear

    const chain = await verifyChain(h.custos.store.readRaw()); // checkpoints may have been added since `rows` was read
    expect(chain.ok).toBe(true);
    expect(chain.count).toBeGreaterThanOrEqual(rows.length);
    const keys = loadVerifyKeys([ed.publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
    const report = await verifyExport(
      rows.map((r) => canonicalize(r)),
      { keys },
    );
    expect(report).toMatchObject({ ok: true, rows: rows.length, findings: [] });
    expect(report.checkpoints).toBeGreaterThan(0); // signed by the registry key, verified with its public key alone
  });

  it('keeps no monitor snapshot beside an encrypted trail (it would hold users and tools in clear); a restart reads the whole trail', async () => {
    expect(h.custos.monitor!.startReport()).toMatchObject({ snapshot: 'off' });
    await h.stopCustos(); // a monitor with a snapshot store would save one now
    expect(readdirSync(h.dir).filter((f) => f.endsWith('.monitor'))).toEqual([]);
    await h.startCustosAgain();
    const head = (await h.auditRecords()).length;
    expect(h.custos.monitor!.startReport()).toMatchObject({ snapshot: 'off' });
    expect(h.custos.monitor!.startReport()!.rowsRead).toBeGreaterThanOrEqual(head - 5); // the whole trail (but rows written during the start)
  });

  it('seals a pending decision-API authorization (its arguments not in clear beside the trail), which still completes once', async () => {
    const alice = await h.token('alice');
    const marker = path.join(h.workspace, 'notes', 'pending-marker-7f3a.md');
    const authorized = await post(`${h.custos.url}/v1/authorize`, alice, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: marker },
      agent: { name: 'framework' },
      request_id: 'sealed-pending',
    });
    expect(authorized.body).toMatchObject({ decision: 'allow' });
    const counters = readdirSync(h.dir).filter((f) => f.startsWith('audit.counters.sqlite'));
    expect(counters).toContain('audit.counters.sqlite');
    const disk = Buffer.concat(counters.map((f) => readFileSync(path.join(h.dir, f))));
    expect(disk.includes(Buffer.from('sealed-pending'))).toBe(true); // the row is there…
    expect(disk.includes(Buffer.from('pending-marker-7f3a'))).toBe(false); // …its arguments are not in clear
    expect((await post(`${h.custos.url}/v1/results`, alice, { request_id: 'sealed-pending', output: 'x' })).status).toBe(200);
    expect((await post(`${h.custos.url}/v1/results`, alice, { request_id: 'sealed-pending', output: 'x' })).status).toBe(404);
  });
});

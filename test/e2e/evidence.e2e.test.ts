/**
 * Evidence packs end to end: the quick start, real calls through the gateway, then a pack from
 * the same config and trail. Every SOC 2 and HIPAA evidence item is present or says why not, the
 * nineteen boxes are evaluated; a bundle that lets background agents write ePHI, and a SIEM sink
 * that stopped delivering, turn their test and box to fail; a file changed after the pack was
 * made fails `evidence verify`, naming it; report.html and report.pdf render in headless Chromium.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvidenceSources } from '../../src/app/index.js';
import type { EvidenceSourceOptions } from '../../src/app/index.js';
import { resolveConfig } from '../../src/config/index.js';
import type { CustosConfigInput, ResolvedConfig } from '../../src/config/index.js';
import { accountDisclosures, createRateCounter, keyIdOf, verifyChain, verifyProof } from '../../src/audit/index.js';
import { createLogger } from '../../src/app/logger.js';
import { liveAggregates } from '../../src/app/console.js';
import { createMonitoring } from '../../src/app/monitoring.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEFAULT_RULE_SETTINGS, createAlertRules, readInventory } from '../../src/monitor/index.js';
import type { MonitorRecorder } from '../../src/monitor/index.js';
import { CONTROLS, CONTROL_TEST_TENANT, printPdf, verifyPack, writePack } from '../../src/evidence/index.js';
import type { PackResult } from '../../src/evidence/index.js';
import { createKeyRegistry } from '../../src/keys/index.js';
import { freePort, repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const artifacts = path.join(repoRoot, 'test-artifacts/evidence');

describe('evidence packs', () => {
  let h: Harness;
  let raw: CustosConfigInput;
  let config: ResolvedConfig;

  beforeAll(async () => {
    const closedPort = await freePort();
    h = await startHarness({
      configure: (input, { dir }) => {
        const { privateKey } = generateKeyPairSync('ed25519');
        writeFileSync(path.join(dir, 'checkpoint.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
        writeFileSync(path.join(dir, 'webhook.secret'), 'an hmac key of the test webhook');
        raw = {
          ...input,
          audit: { ...input.audit, checkpoints: { signingKey: 'file:checkpoint.pem', everyRows: 5 } },
          // A SIEM sink that cannot deliver: nothing listens at its address (the SIEM is "off").
          export: {
            pollMs: 20,
            retry: { minMs: 20, maxMs: 50 },
            sinks: [{ name: 'siem', type: 'webhook', url: `http://127.0.0.1:${closedPort}/ingest`, secret: 'file:webhook.secret' }],
          },
        };
        return raw;
      },
    });
    config = resolveConfig(raw, { source: 'evidence-test', baseDir: h.dir });
    const alice = await h.connect(await h.token('alice'));
    await alice.callTool({ name: 'filesystem__read_text_file', arguments: { path: 'phi/patient-0001.md' } });
    await alice.callTool({ name: 'filesystem__write_file', arguments: { path: 'notes/evidence.md', content: 'SSN 123-45-6789' } });
    await alice.callTool({ name: 'filesystem__read_text_file', arguments: { path: 'notes/evidence.md' } });
    const bob = await h.connect(await h.token('bob'));
    await bob.callTool({ name: 'filesystem__read_text_file', arguments: { path: 'phi/patient-0001.md' } });
    await bob.callTool({ name: 'filesystem__write_file', arguments: { path: 'notes/bob.md', content: 'x' } });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  const keysOf = () => {
    const key = createPublicKey(readFileSync(path.join(h.dir, 'checkpoint.pem')));
    return new Map([[keyIdOf(key), key]]);
  };

  async function pack(
    name: string,
    cfg: ResolvedConfig = config,
    framework: 'soc2' | 'hipaa' = 'soc2',
    pdf = false,
    options: Pick<EvidenceSourceOptions, 'sessions'> = {},
  ): Promise<PackResult> {
    const keys = createKeyRegistry(cfg.keys);
    try {
      const sources = await createEvidenceSources(cfg, h.custos.store, keys, { ...options, tls: false });
      return await writePack(sources, {
        framework,
        out: path.join(h.dir, name),
        ...(pdf ? { pdf: async (html: string, file: string) => void (await printPdf(html, file)) } : {}),
      });
    } finally {
      keys.close();
    }
  }

  it('after the quick start, has every SOC 2 and HIPAA evidence item present or marked not configured with the reason, and all nineteen boxes evaluated', async () => {
    for (const framework of ['soc2', 'hipaa'] as const) {
      const p = await pack(`pack-${framework}`, config, framework);
      const matrix = JSON.parse(readFileSync(path.join(p.dir, 'control-matrix.json'), 'utf8')) as {
        controls: Array<{ id: string; evidence: Array<{ id: string; file: string; status: string; why?: string }> }>;
      };
      expect(matrix.controls.map((c) => c.id)).toEqual(CONTROLS.filter((c) => c.framework === framework).map((c) => c.id));
      for (const item of matrix.controls.flatMap((c) => c.evidence)) {
        expect(p.files, item.file).toContain(item.file);
        if (item.status !== 'present') expect(item.why, item.id).toMatch(/\w{4,}/);
      }
      expect(p.checklist).toHaveLength(19);
      for (const box of p.checklist) {
        expect(['pass', 'fail', 'not_configured'], box.id).toContain(box.status);
        expect(box.why.length, box.id).toBeGreaterThan(10);
        expect(p.files, `${box.id} names ${box.file}`).toContain(box.file);
      }
      // The quick start holds: identity, tiers, pinning, retention, the chain, write gating.
      const status = Object.fromEntries(p.checklist.map((b) => [b.id, b.status]));
      expect(status).toMatchObject({
        'box-01': 'pass',
        'box-04': 'pass',
        'box-06': 'pass',
        'box-08': 'pass',
        'box-09': 'pass',
        'box-11': 'pass',
        'box-12': 'pass',
        'box-16': 'pass',
      });
      expect(p.tests.find((t) => t.id === 'background-write-denied')?.status).toBe('pass');
      expect(p.tests.find((t) => t.id === 'low-privilege-denied')?.status).toBe('pass');
      expect(p.tests.find((t) => t.id === 'no-user-phi-denied')?.status).toBe('pass');
      expect(p.tests.find((t) => t.id === 'env-redacted')?.status).toBe('pass');
      expect(p.tests.find((t) => t.id === 'tampered-export-detected')?.status).toBe('pass');
      expect(p.tests.find((t) => t.id === 'sdk-fails-closed')).toMatchObject({
        status: 'pass',
        why: expect.stringMatching(/unreachable .*: the SDK refused \S+ with CustosUnavailableError \(unreachable\), the tool never ran/),
      });
      // Eight of nine run and pass; egress stays not configured: no quick-start tool takes URLs.
      expect(p.tests.filter((t) => t.status === 'pass').map((t) => t.id)).toHaveLength(8);
      expect(p.tests.find((t) => t.id === 'egress-denied')).toMatchObject({ status: 'not_configured', why: expect.stringMatching(/no tool with `urls`/) });
      expect(p.tests.find((t) => t.id === 'revoked-session-denied')).toMatchObject({
        status: 'pass',
        why: expect.stringMatching(/denied for custos:control-test:session \(session_revoked\)/),
      });
      expect(p.tests.find((t) => t.id === 'interactive-write-confirmed')).toMatchObject({
        status: 'pass',
        why: expect.stringMatching(/confirmation.*read_text_file/),
      });
      const chain = JSON.parse(readFileSync(path.join(p.dir, 'chain/verification.json'), 'utf8')) as {
        chain: { ok: boolean; rows: number };
        checkpoints: { verified: number };
        inclusion_proofs: Array<{ ok: boolean; proof?: unknown }>;
      };
      expect(chain.chain.ok).toBe(true);
      expect(chain.chain.rows).toBeGreaterThanOrEqual(p.rows);
      expect(chain.checkpoints.verified).toBeGreaterThan(0);
      expect(chain.inclusion_proofs.length).toBeGreaterThan(0);
      for (const proof of chain.inclusion_proofs.filter((x) => x.ok)) expect(verifyProof(proof.proof, keysOf()).ok).toBe(true);
      const sample = readFileSync(path.join(p.dir, 'samples/CC6.1.jsonl'), 'utf8').trim().split('\n');
      expect(sample.length).toBeGreaterThan(0);
      expect(JSON.parse(sample[0]!)).toMatchObject({ user: { sub: expect.any(String) }, agent: { tier: 'interactive' } });
      expect(verifyPack(p.dir).ok).toBe(true);
    }
  }, 120_000);

  it('the control tests write their rows in the same chain with control_test: true, and such rows count nowhere as traffic', async () => {
    const p = await pack('pack-control-rows');
    const all = await h.auditRecords();
    const control = all.filter((r) => r.control_test === true);
    const real = all.filter((r) => r.control_test !== true);
    // Every row a test names is in the chain, stamped, as the control-test identity.
    const named = p.tests.flatMap((t) => t.rows);
    expect(named.length).toBeGreaterThanOrEqual(7);
    for (const row of named) {
      const stored = all.find((r) => r.seq === row.seq)!;
      expect(stored).toMatchObject({ hash: row.hash, control_test: true, request_id: row.request_id });
      expect(stored.user.sub === null || stored.user.tenant === CONTROL_TEST_TENANT, String(stored.user.sub)).toBe(true);
    }
    expect(p.tests.find((t) => t.id === 'interactive-write-confirmed')!.rows.map((r) => [r.event, r.decision])).toEqual([
      ['confirm', 'confirm'],
      ['deny', 'deny'],
    ]);
    expect(p.tests.find((t) => t.id === 'env-redacted')!.rows.map((r) => r.event)).toEqual(['intent', 'result']);
    expect((await verifyChain(h.custos.store.readRaw())).ok).toBe(true);

    const list = async function* (rows: AuditRecord[]) {
      yield* rows;
    };
    const now = new Date();
    // The inventory's usage counts, the live view and the accounting of disclosures are those of the real rows alone.
    expect(await readInventory(list(all), now)).toEqual(await readInventory(list(real), now));
    const since = new Date(Date.now() - 3_600_000);
    expect(liveAggregates(all, since)).toEqual(liveAggregates(real, since));
    expect(control.some((r) => r.event === 'intent' && JSON.stringify(r.input).includes('control-test/.env'))).toBe(true);
    const disclosures = await accountDisclosures(h.custos.store, '.env', { pathTemplates: ['control-test/{patient}'] });
    expect(disclosures.disclosures).toEqual([]);
    // The next pack counts them apart, not as calls.
    const next = await pack('pack-control-rows-2');
    const stats = JSON.parse(readFileSync(path.join(next.dir, 'trail/statistics.json'), 'utf8')) as { controlTestRows: number; calls: number };
    expect(stats.controlTestRows).toBeGreaterThanOrEqual(control.length);
    expect(stats.calls).toBe(real.filter((r) => ['intent', 'result', 'deny', 'confirm'].includes(r.event)).length);

    // Metrics and alert rules: the monitor's hook skips them (no alert raised, metrics unchanged); the same rows unstamped are counted.
    const counter = await createRateCounter(`sqlite:${path.join(h.dir, 'control-rows-counter.sqlite')}`);
    const monitoring = createMonitoring(config, { store: h.custos.store, logger: createLogger('silent'), counter });
    const raised: unknown[] = [];
    monitoring.monitor!.attach({ recordAlert: async (a: unknown) => void raised.push(a), recordAdmin: async () => undefined } as unknown as MonitorRecorder);
    // The hook counts after the answer (one setImmediate batch): let that batch run before each scrape.
    const scrape = async (): Promise<string> => {
      await new Promise((resolve) => setImmediate(resolve));
      return (await monitoring.admin!.scrape!()).body;
    };
    const before = await scrape();
    for (const r of control) monitoring.hook!(r);
    expect(await scrape()).toBe(before);
    expect(raised).toEqual([]);
    for (const { control_test: _c, ...r } of control) monitoring.hook!(r);
    expect(await scrape()).not.toBe(before);
    await monitoring.close();
    await counter.close();

    // The alert rules themselves, both ways: the stamped rows raise nothing, the same rows unstamped raise alerts.
    const rules = (): ReturnType<typeof createAlertRules> => createAlertRules({ ...DEFAULT_RULE_SETTINGS, firstUse: true }, () => Date.parse(control[0]!.time));
    const stamped = rules();
    expect(control.flatMap((r) => stamped.observe(r))).toEqual([]);
    const unstamped = rules();
    const alerts = control.flatMap(({ control_test: _c, ...r }) => unstamped.observe(r));
    expect(alerts.map((a) => a.type)).toContain('tool_first_use_by_user');
    expect(alerts.map((a) => a.cause?.user.sub)).toContain('custos:control-test:privileged');
  }, 120_000);

  it('a bundle that lets background agents write ePHI turns the control test and boxes 08 and 16 to fail, with the reason', async () => {
    const bundle = path.join(h.dir, 'permissive-bundle');
    cpSync(path.join(repoRoot, 'examples/quickstart/policy'), bundle, { recursive: true });
    const guards = readFileSync(path.join(bundle, 'policies/guards.cedar'), 'utf8');
    writeFileSync(path.join(bundle, 'policies/guards.cedar'), guards.slice(0, guards.indexOf('// Writes happen only with a person at the keyboard')));
    const p = await pack('pack-permissive', { ...config, policy: { ...config.policy, bundle } });
    const test = p.tests.find((t) => t.id === 'background-write-denied')!;
    expect(test.status).toBe('fail');
    expect(test.why).toMatch(/background agent write ePHI: filesystem\/write_file was (allow|confirm) \(clinician-/);
    const boxes = Object.fromEntries(p.checklist.map((b) => [b.id, b]));
    expect(boxes['box-08']).toMatchObject({ status: 'fail', file: 'control-tests/background-write-denied.json' });
    expect(boxes['box-16']!.status).toBe('fail');
    expect(boxes['box-16']!.why).toMatch(/background/);
  }, 60_000);

  it('the revoked session is denied on the next call with the reason and the user in the row; a guard that ignores revocation fails the test', async () => {
    const p = await pack('pack-revoked');
    const test = p.tests.find((t) => t.id === 'revoked-session-denied')!;
    expect(test.status).toBe('pass');
    const all = await h.auditRecords();
    const denied = all.find((r) => r.seq === test.rows.at(-1)!.seq)!;
    expect(denied).toMatchObject({
      event: 'deny',
      control_test: true,
      user: { sub: 'custos:control-test:session', tenant: CONTROL_TEST_TENANT },
      policy: { decision: 'deny', reasons: expect.arrayContaining(['session_revoked']) },
    });
    // The same test against a guard whose revocation does nothing: the next call is admitted, the test fails.
    const keys = createKeyRegistry(config.keys);
    let broken: PackResult;
    try {
      const real = (await createEvidenceSources(config, h.custos.store, keys, { tls: false })).tests!.sessions!;
      broken = await pack('pack-revoked-broken', config, 'soc2', false, {
        sessions: async () => ({ ...(await real()), revokeSession: async () => undefined }),
      });
    } finally {
      keys.close();
    }
    expect(broken.tests.find((t) => t.id === 'revoked-session-denied')).toMatchObject({
      status: 'fail',
      why: expect.stringMatching(/admitted the next call after session control-test-\S+ was revoked/),
    });
  }, 60_000);

  it('an SDK that runs the tool while the control plane is unreachable fails the sdk-fails-closed test', async () => {
    // A stand-in for the SDK check that reports what a fail-open SDK would: the guarded tool ran.
    const script = path.join(h.dir, 'fails-open.mjs');
    writeFileSync(script, 'process.stdout.write(JSON.stringify({ denied: false, ran: true }) + "\\n"); process.exitCode = 1;\n');
    const keys = createKeyRegistry(config.keys);
    try {
      const sources = await createEvidenceSources(config, h.custos.store, keys, { tls: false });
      const p = await writePack(
        { ...sources, tests: { ...sources.tests!, sdkCheck: { script } } },
        { framework: 'hipaa', out: path.join(h.dir, 'pack-sdk-open') },
      );
      expect(p.tests.find((t) => t.id === 'sdk-fails-closed')).toMatchObject({
        status: 'fail',
        why: expect.stringMatching(/the SDK ran \S+ \(it failed open\)/),
      });
    } finally {
      keys.close();
    }
  }, 60_000);

  it('a bundle that no longer holds interactive writes to ePHI for confirmation turns box 16 to fail, with the reason', async () => {
    const bundle = path.join(h.dir, 'unconfirmed-bundle');
    cpSync(path.join(repoRoot, 'examples/quickstart/policy'), bundle, { recursive: true });
    const rules = readFileSync(path.join(bundle, 'policies/clinician-write.cedar'), 'utf8');
    expect(rules).toContain('@id("clinician-phi-write-confirm")');
    writeFileSync(
      path.join(bundle, 'policies/clinician-write.cedar'),
      rules.replace(
        '@confirm("true")\npermit (principal, action == Custos::Action::"call_tool", resource)\nwhen {\n  resource.server == "filesystem" &&\n  resource.classes.contains("writes") &&\n  !resource.classes.contains("destructive") &&\n  context.data_classes',
        'permit (principal, action == Custos::Action::"call_tool", resource)\nwhen {\n  resource.server == "filesystem" &&\n  resource.classes.contains("writes") &&\n  !resource.classes.contains("destructive") &&\n  context.data_classes',
      ),
    );
    const p = await pack('pack-unconfirmed', { ...config, policy: { ...config.policy, bundle } });
    const test = p.tests.find((t) => t.id === 'interactive-write-confirmed')!;
    expect(test).toMatchObject({ status: 'fail', why: expect.stringMatching(/write_file to ePHI was allow, not held for confirmation/) });
    const box = p.checklist.find((b) => b.id === 'box-16')!;
    expect(box).toMatchObject({ status: 'fail', file: 'control-tests/interactive-write-confirmed.json' });
    expect(box.why).toMatch(/not held for confirmation/);
  }, 60_000);

  it('a SIEM sink that stopped delivering turns boxes 13 and 18 to fail, naming the sink and its error', async () => {
    const cursor = path.join(h.dir, 'data/export');
    const deadline = Date.now() + 30_000;
    while (!existsSync(cursor) || !readFileSync(path.join(cursor, readdirName(cursor)), 'utf8').includes('last_error')) {
      if (Date.now() > deadline) throw new Error('the sink never recorded its failure');
      await new Promise((r) => setTimeout(r, 50));
    }
    const p = await pack('pack-sink-off');
    const boxes = Object.fromEntries(p.checklist.map((b) => [b.id, b]));
    expect(boxes['box-13']).toMatchObject({ status: 'fail', file: 'siem/sinks.json' });
    expect(boxes['box-13']!.why).toMatch(/siem/);
    expect(boxes['box-18']!.status).toBe('fail');
  }, 60_000);

  it('a file changed, removed or added after generation fails evidence verify, naming the file', async () => {
    const p = await pack('pack-tamper');
    const pub = path.join(h.dir, 'checkpoint.pub.pem');
    writeFileSync(pub, createPublicKey(readFileSync(path.join(h.dir, 'checkpoint.pem'))).export({ type: 'spki', format: 'pem' }));
    const pem = [readFileSync(pub, 'utf8')];
    expect(verifyPack(p.dir, pem)).toMatchObject({ ok: true, problems: [] });
    appendFileSync(path.join(p.dir, 'samples/CC6.1.jsonl'), '{"forged":true}\n');
    mkdirSync(path.join(p.dir, 'extra'), { recursive: true });
    writeFileSync(path.join(p.dir, 'extra/note.txt'), 'added later');
    const report = verifyPack(p.dir, pem);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'changed', file: 'samples/CC6.1.jsonl' }),
        expect.objectContaining({ kind: 'extra', file: 'extra/note.txt' }),
      ]),
    );
    // A manifest edited to match the forged file no longer carries a valid signature.
    const manifestFile = path.join(p.dir, 'manifest.json');
    const manifest = readFileSync(manifestFile, 'utf8').replace(/"path": "checklist.json"/, '"path": "checklist.json" ');
    writeFileSync(manifestFile, manifest);
    expect(verifyPack(p.dir, pem).problems).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'signature_invalid', file: 'manifest.json' })]));
  }, 60_000);

  it('renders report.html and report.pdf in headless Chromium and keeps screenshots of the first pages', async () => {
    const p = await pack('pack-pdf', config, 'hipaa', true);
    expect(p.files).toContain('report.pdf');
    const pdf = readFileSync(path.join(p.dir, 'report.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const html = readFileSync(path.join(p.dir, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)[^"<]*\.(css|js|png|woff)/);
    expect(html).toContain("default-src 'none'");
    mkdirSync(artifacts, { recursive: true });
    const shots = await printPdf(path.join(p.dir, 'report.html'), path.join(artifacts, 'report.pdf'), { screenshots: 2 });
    shots.screenshots.forEach((png, i) => writeFileSync(path.join(artifacts, `report-page-${i + 1}.png`), png));
    expect(shots.screenshots).toHaveLength(2);
    expect(shots.screenshots[0]!.subarray(1, 4).toString()).toBe('PNG');
    expect(verifyPack(p.dir).ok).toBe(true);
  }, 120_000);
});

function readdirName(dir: string): string {
  return readdirSync(dir).find((f) => f.includes('siem')) ?? 'missing';
}

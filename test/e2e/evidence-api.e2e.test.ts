/**
 * The evidence HTTP API (the console's contract, docs/api.md#evidence-packs): auditors read the
 * checklist and make packs, only admins ask for the control tests, a refusal is a row, files are
 * served only when the pack's manifest lists them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('/v1/evidence', () => {
  let h: Harness;
  let bob: string; // billing: an auditor here
  let alice: string; // clinician: an admin here

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => ({
        ...raw,
        identity: { ...raw.identity!, admin: { roles: ['clinician'] } },
        audit: { ...raw.audit, search: { roles: ['billing'] } },
      }),
    });
    bob = await h.token('bob');
    alice = await h.token('alice');
  }, 60_000);
  afterAll(() => h?.close());

  async function call(method: 'GET' | 'POST', route: string, token: string, body?: unknown): Promise<Response> {
    return fetch(`${h.custos.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  }

  it('serves the checklist, packs and their files to auditors; control tests to admins only; every answer and refusal a row', async () => {
    const checklist = await call('GET', '/v1/evidence/checklist', bob);
    expect(checklist.status).toBe(200);
    const c = (await checklist.json()) as {
      generated_at: string;
      bundle_hash: string;
      boxes: Array<{ id: string; status: string; why: string; file: string }>;
    };
    expect(c.bundle_hash).toBe(h.custos.bundleHash);
    expect(c.boxes.map((b) => b.id)).toEqual(Array.from({ length: 19 }, (_, i) => `box-${String(i + 1).padStart(2, '0')}`));
    // A read within the minute gets the same evaluation (no new trail scan, no new control-test processes).
    const again = (await (await call('GET', '/v1/evidence/checklist', bob)).json()) as typeof c;
    expect(again).toEqual(c);

    const refused = await call('POST', '/v1/evidence/packs', bob, { framework: 'soc2', live_tests: true });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_NOT_ENTITLED');

    const made = await call('POST', '/v1/evidence/packs', bob, { framework: 'soc2' });
    expect(made.status).toBe(201);
    const pack = (await made.json()) as { id: string; framework: string; manifest_sha256: string; files: string[]; checklist: { boxes: unknown[] } };
    expect(pack).toMatchObject({ framework: 'soc2', manifest_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(pack.files).toContain('report.html');
    expect(pack.checklist.boxes).toHaveLength(19);

    const withTests = await call('POST', '/v1/evidence/packs', alice, { framework: 'hipaa', live_tests: true, from: '2020-01-01T00:00:00Z' });
    expect(withTests.status).toBe(201);
    // Run by the server: the revoked session goes through the gateway's own session guard, the SDK check from the built sdk/dist.
    const withTestsPack = (await withTests.json()) as { id: string };
    const summary = (await (await call('GET', `/v1/evidence/file?pack=${withTestsPack.id}&path=control-tests/summary.json`, bob)).json()) as {
      results: Array<{ id: string; status: string }>;
    };
    const statusOf = Object.fromEntries(summary.results.map((r) => [r.id, r.status]));
    expect(statusOf).toMatchObject({ 'revoked-session-denied': 'pass', 'sdk-fails-closed': 'pass', 'egress-denied': 'not_configured' });

    const list = (await (await call('GET', '/v1/evidence/packs', bob)).json()) as {
      packs: Array<{ id: string; framework: string; created_at: string; manifest_sha256: string }>;
    };
    expect(list.packs.map((p) => p.framework).sort()).toEqual(['hipaa', 'soc2']);
    expect(list.packs.find((p) => p.id === pack.id)?.manifest_sha256).toBe(pack.manifest_sha256);

    const html = await call('GET', `/v1/evidence/file?pack=${pack.id}&path=report.html`, bob);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.headers.get('content-disposition')).toBeNull();
    expect(await html.text()).toContain('Evidence pack');
    const json = await call('GET', `/v1/evidence/file?pack=${pack.id}&path=checklist.json`, bob);
    expect(json.headers.get('content-disposition')).toBe('attachment; filename="checklist.json"');
    for (const rel of ['manifest.json', '../../audit.sqlite', 'nope.txt']) {
      const r = await call('GET', `/v1/evidence/file?pack=${pack.id}&path=${encodeURIComponent(rel)}`, bob);
      expect(r.status, rel).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('ERR_GATEWAY_NOT_FOUND');
    }

    const rows = (await h.auditRecords()).filter((r) => r.event === 'admin' && String(r.detail?.action).startsWith('evidence_'));
    expect(rows.map((r) => [r.detail?.action, r.user.sub, r.policy.decision])).toEqual(
      expect.arrayContaining([
        ['evidence_checklist_read', expect.any(String), 'allow'],
        ['evidence_refused', expect.any(String), 'deny'],
        ['evidence_pack_created', expect.any(String), 'allow'],
        ['evidence_file_read', expect.any(String), 'allow'],
      ]),
    );
    const refusal = rows.find((r) => r.detail?.action === 'evidence_refused')!;
    expect(refusal.detail).toMatchObject({ attempted: 'evidence_pack_live_tests', code: 'ERR_IDENTITY_NOT_ENTITLED' });
  }, 120_000);
});

/**
 * Search of the trail and the HIPAA accounting of disclosures on a running Custos, on SQLite
 * and on a real PostgreSQL: an auditor finds a known row (paginated by seq), a clinician is
 * refused and the refusal is a row, every search is a row, and the accounting for one
 * quick-start patient lists exactly the accesses made in the test.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../src/cli/cli.test-support.js';
import { sha256Hex } from '../../src/kernel/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEMO_USERS, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { startPostgres } from './postgres.js';
import type { TestPostgres } from './postgres.js';

const AUDITOR = { username: 'carol', sub: 'carol', email: 'carol@example.test', roles: ['auditor'], tenant: 'general-hospital' };

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe.each(['sqlite', 'postgres'] as const)('audit search and accounting of disclosures (%s)', (backend) => {
  let h: Harness;
  let pg: TestPostgres | undefined;
  let auditor: string;
  let clinician: string;
  let accesses: AuditRecord[];

  const get = async (token: string, query: string): Promise<Answer> => {
    const response = await fetch(`${h.custos.url}/v1/audit${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    if (backend === 'postgres') pg = await startPostgres();
    h = await startHarness({
      users: [...DEMO_USERS, AUDITOR],
      configure: (raw) => ({
        ...raw,
        audit: { ...raw.audit, ...(pg ? { store: pg.url } : {}), search: { patientPaths: ['phi/{patient}.md'] } },
      }),
    });
    auditor = await h.token('carol');
    clinician = await h.token('alice');
    const alice = await h.connect(clinician);
    const bob = await h.connect(await h.token('bob'));
    const read = (client: typeof alice, file: string) =>
      client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, file) } });
    await read(alice, 'phi/patient-0001.md');
    await read(alice, 'notes/handbook.md');
    await read(bob, 'phi/patient-0001.md'); // bob (billing) is denied: an attempt, not a disclosure
    await read(alice, 'phi/patient-0002.md');
    await read(alice, 'phi/patient-0001.md');
    accesses = (await h.auditRecords()).filter((r) => r.event === 'intent' && JSON.stringify(r.input).includes('phi/patient-0001.md'));
  }, 180_000);

  afterAll(async () => {
    await h?.close();
    await pg?.stop();
  });

  it('an auditor finds a known row by user, resource and decision, paginated by seq; the search is a row', async () => {
    expect(accesses.map((r) => r.user.sub)).toEqual(['alice', 'alice']);
    const query = `?user=alice&resource=${encodeURIComponent('phi/patient-0001.md')}&decision=allow&event=intent&limit=1`;
    const first = await get(auditor, query);
    expect(first.status).toBe(200);
    expect((first.body['records'] as AuditRecord[]).map((r) => r.seq)).toEqual([accesses[0]!.seq]);
    expect(first.body['next_after_seq']).toBe(accesses[0]!.seq);
    const second = await get(auditor, `${query}&after_seq=${first.body['next_after_seq'] as number}`);
    expect((second.body['records'] as AuditRecord[]).map((r) => r.seq)).toEqual([accesses[1]!.seq]);
    const byRequest = await get(auditor, `?request_id=${accesses[0]!.request_id}`);
    expect((byRequest.body['records'] as AuditRecord[]).map((r) => r.event)).toEqual(['intent', 'result']);
    const rows = await h.auditRecords();
    const searched = rows.filter((r) => r.event === 'admin' && r.policy.reasons[0] === 'audit_searched');
    expect(searched).toHaveLength(3);
    expect(searched[0]).toMatchObject({
      user: { sub: 'carol' },
      policy: { decision: 'allow' },
      detail: { report: 'search', query: { user: 'alice', resource: 'phi/patient-0001.md', decision: 'allow', event: 'intent' }, limit: 1, returned: 1 },
    });
  });

  it('every filter narrows: tool, tier, data class, time range, agent', async () => {
    const known = accesses[0]!;
    const q = [
      `tool=${encodeURIComponent(`${known.tool!.server}/${known.tool!.name}`)}`,
      `tier=${known.agent!.tier!}`,
      `agent=${encodeURIComponent(known.agent!.name)}`,
      `from=${encodeURIComponent(known.time)}`,
      `to=${encodeURIComponent(new Date(Date.parse(known.time) + 1).toISOString())}`,
    ].join('&');
    const found = await get(auditor, `?${q}&data_class=phi`);
    expect(found.status).toBe(200);
    expect((found.body['records'] as AuditRecord[]).map((r) => r.seq)).toContain(known.seq);
    const none = await get(auditor, `?${q}&data_class=secret_file`);
    expect(none.body['records']).toEqual([]);
    const bad = await get(auditor, '?decision=maybe');
    expect(bad.status).toBe(400);
  });

  it('a clinician is refused (403) and the refusal is a row naming her', async () => {
    const refused = await get(clinician, '?user=bob');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'ERR_IDENTITY_NOT_ENTITLED' } });
    const disclosures = await get(clinician, '/disclosures?patient=patient-0001');
    expect(disclosures.status).toBe(403);
    const rows = (await h.auditRecords()).filter((r) => r.event === 'admin' && r.policy.reasons[0] === 'audit_search_refused');
    expect(rows.map((r) => [r.user.sub, r.policy.decision, r.detail])).toEqual([
      ['alice', 'deny', { action: 'audit_search_refused', report: 'search', code: 'ERR_IDENTITY_NOT_ENTITLED' }],
      ['alice', 'deny', { action: 'audit_search_refused', report: 'disclosures', code: 'ERR_IDENTITY_NOT_ENTITLED' }],
    ]);
  });

  it('the accounting of disclosures for patient-0001 lists exactly the accesses made: who, when, through which agent', async () => {
    const answer = await get(auditor, '/disclosures?patient=patient-0001');
    expect(answer.status).toBe(200);
    const listed = answer.body['disclosures'] as Array<Record<string, unknown>>;
    expect(listed.map((d) => d['seq'])).toEqual(accesses.map((r) => r.seq));
    expect(listed[0]).toMatchObject({
      time: accesses[0]!.time,
      request_id: accesses[0]!.request_id,
      user: { sub: 'alice', email: 'alice@example.test' },
      agent: { name: accesses[0]!.agent!.name, tier: accesses[0]!.agent!.tier },
      tool: 'filesystem/read_text_file',
      resource: 'phi/patient-0001.md',
    });
    const reported = (await h.auditRecords()).filter((r) => r.event === 'admin' && r.policy.reasons[0] === 'audit_disclosures_reported');
    expect(reported.at(-1)).toMatchObject({
      user: { sub: 'carol' },
      detail: { report: 'disclosures', patient_sha256: sha256Hex('patient-0001'), returned: 2 },
    });
  });

  it('custos audit search and disclosures: thin clients of the API, with the auditor token', async () => {
    const search = await runCliCaptured([
      'audit',
      'search',
      '--url',
      h.custos.url,
      '--token',
      auditor,
      '--user',
      'alice',
      '--resource',
      'phi/patient-0001.md',
      '--event',
      'intent',
    ]);
    expect(search.err).toBe('');
    expect(
      search.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).seq),
    ).toEqual(accesses.map((r) => r.seq));
    const report = await runCliCaptured(['audit', 'disclosures', '--url', h.custos.url, '--token', auditor, '--patient', 'patient-0001']);
    expect(report.out).toContain(`${accesses[0]!.time}  alice <alice@example.test>  via ${accesses[0]!.agent!.name}`);
    const refused = await runCliCaptured(['audit', 'search', '--url', h.custos.url, '--token', clinician]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('ERR_IDENTITY_NOT_ENTITLED');
  });
});

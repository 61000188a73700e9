/**
 * One pipeline behind both doors (issue 8): what a list shows is what a call may do (a
 * tenant-scoped case and a break-glass case), and the same ToolCall through the MCP door and
 * through the decision API gives the same decision and the same audit row.
 */
import { cpSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_TIER_HEADER } from '../../src/gateway/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEMO_USERS, repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const notesJs = path.join(repoRoot, 'examples/everything/notes-server.mjs');
const DANA = { username: 'dana', sub: 'dana', email: 'dana@example.test', roles: ['break-glass'], tenant: 'general-hospital' };
const AGENT = 'same-agent';

/** Clinicians may read the notes server's resources (PHI rules and tenancy still apply). */
const NOTES_POLICY = `@id("clinicians-read-notes")
@reason("clinicians_read_notes")
permit (principal, action == Custos::Action::"read_resource", resource)
when { resource.server == "notes" && principal.roles.contains("clinician") };
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** A row without what differs between two runs of the same call: ids, times, the chain. */
function comparable(row: AuditRecord | undefined): Record<string, unknown> {
  const { seq: _s, time: _t, request_id: _r, prev_hash: _p, hash: _h, ...rest } = row ?? ({} as AuditRecord);
  return rest;
}

describe('one pipeline behind both doors', () => {
  let h: Harness;
  let alice: string;
  let bob: string;
  const records = (): Promise<AuditRecord[]> => h.auditRecords();
  const post = (route: string, token: string, body: unknown) =>
    fetch(`${h.custos.url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  beforeAll(async () => {
    h = await startHarness({
      users: [...DEMO_USERS, DANA],
      configure: (raw, { dir }) => {
        const bundle = path.join(dir, 'policy');
        cpSync(path.join(repoRoot, 'examples/quickstart/policy'), bundle, { recursive: true });
        writeFileSync(path.join(bundle, 'policies/notes-read.cedar'), NOTES_POLICY);
        const notes = { name: 'notes', command: process.execPath, args: [notesJs, path.join(dir, 'workspace')] };
        return { ...raw, upstreams: [...(raw.upstreams ?? []), notes], policy: { bundle } };
      },
    });
    [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
  });
  afterAll(async () => h?.close());

  it("tenant-scoped: resources/list shows alice exactly the resources she may read (no other tenant's)", async () => {
    const client = await h.connect(alice, AGENT);
    const listed = new Set((await client.listResources()).resources.map((r) => r.uri));
    const files = filesUnder(h.workspace);
    expect(files.length).toBeGreaterThan(4);
    let readable = 0;
    for (const file of files) {
      const uri = `custos://notes/${pathToFileURL(file).href}`;
      const read = await client.readResource({ uri }).then(
        () => 'allowed',
        (err: { data?: { detail?: { reasons?: string[] } } }) => err.data?.detail?.reasons?.[0] ?? 'error',
      );
      expect({ file, listed: listed.has(uri) }).toEqual({ file, listed: read === 'allowed' });
      if (read === 'allowed') readable += 1;
      if (file.includes('/tenants/riverside-clinic/')) expect(read).toBe('tenant_mismatch');
    }
    expect(readable).toBeGreaterThan(0);
    expect([...listed].some((u) => u.includes('/tenants/general-hospital/'))).toBe(true);
  });

  it('break-glass: the tools list and a call agree before and under an open grant', async () => {
    const dana = await h.token('dana');
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const agree = async (expectRead: boolean): Promise<void> => {
      const client = await h.connect(dana, AGENT);
      const names = (await client.listTools()).tools.map((t) => t.name);
      const read = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
      const write = await client.callTool({ name: 'filesystem__write_file', arguments: { path: path.join(h.workspace, 'notes/x.md'), content: 'x' } });
      expect({ listed: names.includes('filesystem__read_text_file'), allowed: !read.isError }).toEqual({ listed: expectRead, allowed: expectRead });
      expect({ listed: names.includes('filesystem__write_file'), allowed: !write.isError }).toEqual({ listed: false, allowed: false });
    };
    await agree(false);
    expect((await post('/v1/emergency/grants', dana, { reason: 'ED admission, allergy list needed' })).status).toBe(201);
    await agree(true);
    const rows = await records();
    expect(rows.filter((r) => r.event === 'intent' && r.access?.emergency && r.user.sub === 'dana')).toHaveLength(1);
  });

  it.each([
    ['allowed', () => alice, 'notes/handbook.md', 'intent'],
    ['denied by the policy', () => bob, 'phi/patient-0002.md', 'deny'],
    ['denied for another tenant', () => alice, 'tenants/riverside-clinic/phi/patient-9001.md', 'deny'],
  ] as const)('the same ToolCall through the MCP door and the decision API: same decision, same row (%s)', async (_case, token, file, event) => {
    const args = { path: path.join(h.workspace, file) };
    const client = await h.connect(token(), AGENT);
    await client.callTool({ name: 'filesystem__read_text_file', arguments: args });
    const viaMcp = (await records()).filter((r) => r.event === event).at(-1);
    const decided = await post('/v1/authorize', token(), {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: args,
      agent: { name: AGENT, version: '1.0.0' },
    });
    const viaApi = (await records()).filter((r) => r.event === event).at(-1);
    expect(decided.status).toBe(200);
    expect(decided.body.decision).toBe(viaMcp?.policy.decision);
    expect(viaApi?.request_id).not.toBe(viaMcp?.request_id);
    expect(comparable(viaApi)).toEqual(comparable(viaMcp));
    expect(viaMcp).toMatchObject({ agent: { name: AGENT, version: '1.0.0' }, tool: { server: 'filesystem', name: 'read_text_file' } });
  });

  it('a declared tier the credential does not carry: the same deny row and the same alert through both doors', async () => {
    const args = { path: path.join(h.workspace, 'notes/handbook.md') };
    const client = await h.connect(alice, AGENT, { [AGENT_TIER_HEADER]: 'background' });
    const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: args });
    expect(result.isError).toBe(true);
    const [mcpDeny, mcpAlert] = (await records()).slice(-2);
    const decided = await post('/v1/authorize', alice, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: args,
      agent: { name: AGENT, version: '1.0.0', tier: 'background' },
    });
    expect(decided.body).toMatchObject({ decision: 'deny', reasons: ['tier_mismatch'] });
    const [apiDeny, apiAlert] = (await records()).slice(-2);
    expect([mcpDeny?.event, mcpAlert?.event]).toEqual(['deny', 'alert']);
    expect(comparable(apiDeny)).toEqual(comparable(mcpDeny));
    expect(comparable(apiAlert)).toEqual(comparable(mcpAlert));
    expect(mcpAlert?.detail).toEqual({ declared_tier: 'background', derived_tier: 'interactive' });
  });
});

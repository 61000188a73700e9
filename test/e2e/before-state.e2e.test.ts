/**
 * Before-state for writes to ePHI (164.312(c)(1)) through the real stack: the bundle's catalog
 * says `filesystem/write_file` on a phi path reads the file first with `read_text_file`, and the
 * quick-start bundle holds a clinician's write to ePHI for confirmation. Alice
 * confirms the write; the result row carries the redacted before-state and the change, each
 * with its hash. A before-state that cannot be read denies the write. A bundle activated while
 * alice decides is applied to her answer. A bundle started in emergency mode raises the alert.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestJson } from '../../src/kernel/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { approveBundle, copyQuickstart, makeApprover, writeManifest } from '../../src/policy/bundles.test-support.js';
import { startHarness, until } from './harness.js';
import type { Harness } from './harness.js';

type ToolResult = { isError?: boolean; content: Array<{ type: string; text?: string }>; _meta?: Record<string, unknown> };
const textOf = (r: unknown): string => (r as ToolResult).content.map((c) => c.text ?? '').join('\n');
const requestIdOf = (r: unknown): string => String((r as ToolResult)._meta?.['io.custos/request_id']);

const alice = makeApprover('alice');
const bob = makeApprover('bob');
const approvers = [alice, bob].map(({ id, publicKey }) => ({ id, publicKey }));

const NO_PHI_WRITES = `@id("no-phi-writes")
@reason("phi_writes_frozen")
forbid (principal, action == Custos::Action::"call_tool", resource)
when { resource.classes.contains("writes") && context.data_classes.contains("phi") };
`;

describe('before-state of writes to ePHI', () => {
  let h: Harness;
  let dir: string;
  const clients: Client[] = [];

  async function connectAlice(answer: () => Promise<ElicitResult>): Promise<Client> {
    const client = new Client({ name: 'claude-desktop', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, answer);
    const token = await h.token('alice');
    await client.connect(new StreamableHTTPClientTransport(new URL(h.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  }

  const rowsOf = async (requestId: string): Promise<AuditRecord[]> => (await h.auditRecords()).filter((r) => r.request_id === requestId);

  beforeAll(async () => {
    dir = await copyQuickstart();
    await writeManifest(dir, { name: 'quickstart', version: 1, author: 'alice' });
    await approveBundle(dir, alice, bob);
    h = await startHarness({ bundleDir: dir, configure: (raw) => ({ ...raw, policy: { ...raw.policy, approvers, pollMs: 200 } }) });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await h?.close();
  });

  it('a write from alice, confirmed: the result row has the redacted before-state and the change, each with its hash', async () => {
    const client = await connectAlice(async () => ({ action: 'accept', content: { confirm: true } }));
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const old = readFileSync(note, 'utf8');
    const args = { path: note, content: '# Progress note\n\nSeen today. SSN 456-78-9012.\n' };
    const result = await client.callTool({ name: 'filesystem__write_file', arguments: args });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(readFileSync(note, 'utf8')).toBe(args.content);
    // The before-state was read through the upstream before the write reached it.
    expect(
      h
        .upstreamCalls()
        .slice(-2)
        .map((c) => c.name),
    ).toEqual(['read_text_file', 'write_file']);

    const rows = await rowsOf(requestIdOf(result));
    expect(rows.map((r) => [r.event, r.user.sub, r.policy.decision])).toEqual([
      ['confirm', 'alice', 'confirm'],
      ['intent', 'alice', 'allow'],
      ['result', 'alice', 'allow'],
    ]);
    const detail = rows[2]!.detail as { before_state: { tool: string; redacted: unknown; sha256: string }; change: { redacted: unknown; sha256: string } };
    expect(detail.before_state.tool).toBe('filesystem/read_text_file');
    const stored = JSON.stringify(detail.before_state.redacted);
    expect(stored).toContain('Progress note'); // the old text, redacted
    expect(stored).not.toContain('123-45-6789'); // the old SSN never reaches the trail
    expect(old).toContain('123-45-6789');
    expect(detail.before_state.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(detail.change.sha256).toBe(digestJson(args));
    expect(detail.change.sha256).toBe(rows[1]!.input?.sha256);
    expect(JSON.stringify(detail.change.redacted)).not.toContain('456-78-9012');
    expect(JSON.stringify(rows)).not.toContain('456-78-9012');
  });

  it('fails closed: a before-state that cannot be read denies the write, with the reason in the row', async () => {
    const client = await connectAlice(async () => ({ action: 'accept', content: { confirm: true } }));
    const note = path.join(h.workspace, 'phi/patient-9999.md'); // no such file: read_text_file fails
    const before = h.upstreamCalls().length;
    const result = await client.callTool({ name: 'filesystem__write_file', arguments: { path: note, content: 'x' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('before_state_unavailable');
    expect(
      h
        .upstreamCalls()
        .slice(before)
        .map((c) => c.name),
    ).toEqual(['read_text_file']);
    const rows = await rowsOf(requestIdOf(result));
    expect(rows.map((r) => [r.event, r.user.sub, r.policy.decision])).toEqual([
      ['confirm', 'alice', 'confirm'],
      ['intent', 'alice', 'allow'],
      ['deny', 'alice', 'deny'],
    ]);
    expect(rows[2]!.policy.reasons).toEqual(['before_state_unavailable']);
    expect(rows[2]!.detail).toMatchObject({ before_state: { tool: 'filesystem/read_text_file', error: 'tool_error' } });
  });

  it('a bundle activated while alice decides is applied to her answer', async () => {
    const note = path.join(h.workspace, 'phi/patient-0002.md');
    const old = readFileSync(note, 'utf8');
    let v2 = '';
    const client = await connectAlice(async () => {
      await writeManifest(dir, { name: 'quickstart', version: 2, author: 'alice' });
      writeFileSync(path.join(dir, 'policies/no-phi-writes.cedar'), NO_PHI_WRITES);
      v2 = await approveBundle(dir, alice, bob);
      await until(h, (rows) => rows.find((r) => r.event === 'admin' && r.detail?.action === 'policy_activated' && r.detail.new_hash === v2));
      return { action: 'accept', content: { confirm: true } };
    });
    const before = h.upstreamCalls().length;
    const result = await client.callTool({ name: 'filesystem__write_file', arguments: { path: note, content: 'x' } });
    expect(result.isError).toBe(true);
    expect(readFileSync(note, 'utf8')).toBe(old);
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    const rows = await rowsOf(requestIdOf(result));
    expect(rows.map((r) => [r.event, r.user.sub, r.policy.decision])).toEqual([
      ['confirm', 'alice', 'confirm'],
      ['deny', 'alice', 'deny'],
    ]);
    expect(rows[1]!.policy.reasons).toEqual(['policy_changed', 'phi_writes_frozen']);
    expect(rows[1]!.policy.bundle_hash).toBe(v2);
  });
});

describe('a bundle in emergency mode at start-up', () => {
  let h: Harness | undefined;
  afterAll(async () => h?.close());

  it('raises the monitor bundle-mode alert', async () => {
    const dir = await copyQuickstart();
    await writeManifest(dir, { name: 'quickstart', version: 1, author: 'alice', emergency: true });
    const hash = await approveBundle(dir, alice);
    h = await startHarness({ bundleDir: dir, configure: (raw) => ({ ...raw, policy: { ...raw.policy, approvers, allowEmergency: true } }) });
    const alert = await until(h, (rows) => rows.find((r) => r.event === 'alert' && r.alert?.type === 'bundle_activated_unsafe_mode'));
    expect(alert.detail).toMatchObject({ mode: 'emergency', bundle_hash: hash });
  });
});

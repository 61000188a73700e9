/**
 * Custos' own confirmation prompts end to end (164.312(c)(1)): the quick-start bundle asks a
 * human to confirm move_file for clinicians. Real dev OIDC provider, real Custos, the real
 * filesystem server, the official SDK client with (or without) the elicitation capability.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

type ToolResult = { isError?: boolean; content: Array<{ type: string; text?: string }>; _meta?: Record<string, unknown> };
const textOf = (r: unknown): string => (r as ToolResult).content.map((c) => c.text ?? '').join('\n');
const requestIdOf = (r: unknown): string => String((r as ToolResult)._meta?.['io.custos/request_id']);

describe('confirmation prompts through MCP elicitation', () => {
  let h: Harness;
  let alice: string;
  const clients: Client[] = [];

  /** An SDK client for alice; with `answer`, it declares form elicitation and answers with it. */
  async function connectAlice(answer?: (request: ElicitRequest) => Promise<ElicitResult>): Promise<{ client: Client; prompts: ElicitRequest[] }> {
    const prompts: ElicitRequest[] = [];
    const client = new Client({ name: 'claude-desktop', version: '1.0.0' }, { capabilities: answer ? { elicitation: { form: {} } } : {} });
    if (answer) {
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        prompts.push(request);
        return answer(request);
      });
    }
    await client.connect(new StreamableHTTPClientTransport(new URL(h.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${alice}` } } }));
    clients.push(client);
    return { client, prompts };
  }

  function seedFile(name: string): { source: string; destination: string } {
    const source = path.join(h.workspace, 'notes', name);
    writeFileSync(source, `draft ${name}\n`);
    return { source, destination: path.join(h.workspace, 'notes', `moved-${name}`) };
  }

  /** The file stayed, the upstream was never called, and the trail holds alice's confirm row then her deny row. */
  async function expectNotMovedAndDenied(
    result: Awaited<ReturnType<Client['callTool']>>,
    { source, destination }: { source: string; destination: string },
    upstreamCallsBefore: number,
    status: string,
    reason: string,
  ): Promise<void> {
    expect(existsSync(source)).toBe(true);
    expect(existsSync(destination)).toBe(false);
    expect(h.upstreamCalls().slice(upstreamCallsBefore)).toEqual([]);
    const rows = await rowsOf(requestIdOf(result));
    expect(rows.map((r) => [r.event, r.user.sub, r.policy.decision, r.confirmation?.status])).toEqual([
      ['confirm', 'alice', 'confirm', 'requested'],
      ['deny', 'alice', 'deny', status],
    ]);
    expect(rows[1]?.policy.reasons[0]).toBe(reason);
  }

  async function rowsOf(requestId: string): Promise<AuditRecord[]> {
    return (await h.auditRecords()).filter((r) => r.request_id === requestId);
  }

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => ({ ...raw, policy: { ...raw.policy!, confirmationTimeoutMs: 1000 } }),
    });
    alice = await h.token('alice');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await h?.close();
  });

  it('moves the file once alice confirms in her client; the trail shows confirm, intent and result', async () => {
    const { client, prompts } = await connectAlice(async () => ({ action: 'accept', content: { confirm: true } }));
    const { source, destination } = seedFile('accept.md');
    const result = await client.callTool({ name: 'filesystem__move_file', arguments: { source, destination } });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(existsSync(destination)).toBe(true);
    expect(existsSync(source)).toBe(false);
    expect(h.upstreamCalls().at(-1)).toMatchObject({ name: 'move_file', arguments: { source, destination } });

    expect(prompts).toHaveLength(1);
    const prompt = prompts[0]!.params as { mode?: string; message: string; requestedSchema: { properties: Record<string, { type: string }> } };
    expect(prompt.mode).toBe('form');
    expect(prompt.requestedSchema.properties.confirm?.type).toBe('boolean');
    expect(prompt.message).toContain('alice');
    expect(prompt.message).toContain('filesystem/move_file');
    expect(prompt.message).toContain(source);

    const rows = await rowsOf(requestIdOf(result));
    expect(rows.map((r) => [r.event, r.policy.decision, r.confirmation?.status])).toEqual([
      ['confirm', 'confirm', 'requested'],
      ['intent', 'allow', 'accepted'],
      ['result', 'allow', undefined],
    ]);
    for (const row of rows) {
      expect(row.user.sub).toBe('alice');
      expect(row.policy.bundle_hash).toBe(h.custos.bundleHash);
      expect(row.policy.determining_policies).toEqual(['clinician-destructive-confirm']);
    }
    expect(rows[0]?.policy.reasons).toEqual(['destructive_requires_confirmation']);
    expect(rows[1]?.policy.reasons).toContain('confirmation_accepted');
    expect(rows[1]?.confirmation?.channel).toBe('mcp_elicitation');
  });

  it.each([
    ['declines', { action: 'decline' }],
    ['cancels', { action: 'cancel' }],
    ['answers confirm=false', { action: 'accept', content: { confirm: false } }],
  ] as const)('does not move the file when alice %s; deny row confirmation_declined', async (_label, answer) => {
    const { client, prompts } = await connectAlice(async () => answer as ElicitResult);
    const { source, destination } = seedFile(`decline-${answer.action}.md`);
    const before = h.upstreamCalls().length;
    const result = await client.callTool({ name: 'filesystem__move_file', arguments: { source, destination } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('confirmation_declined');
    expect(prompts).toHaveLength(1);
    await expectNotMovedAndDenied(result, { source, destination }, before, 'declined', 'confirmation_declined');
  });

  it('denies with confirmation_timeout when alice does not answer in time', async () => {
    const { client } = await connectAlice(() => new Promise<ElicitResult>(() => undefined));
    const { source, destination } = seedFile('timeout.md');
    const result = await client.callTool({ name: 'filesystem__move_file', arguments: { source, destination } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('confirmation_timeout');
    expect(existsSync(source)).toBe(true);
    expect(existsSync(destination)).toBe(false);
    const rows = await rowsOf(requestIdOf(result));
    expect(rows.map((r) => [r.event, r.user.sub, r.policy.reasons[0]])).toEqual([
      ['confirm', 'alice', 'destructive_requires_confirmation'],
      ['deny', 'alice', 'confirmation_timeout'],
    ]);
  });

  it('fails closed with confirmation_unavailable for a client without elicitation, whatever the arguments say', async () => {
    const { client } = await connectAlice();
    const { source, destination } = seedFile('unavailable.md');
    const before = h.upstreamCalls().length;
    // The agent cannot confirm for the human: a `confirm` argument is just an argument.
    const result = await client.callTool({ name: 'filesystem__move_file', arguments: { source, destination, confirm: true } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('does not support MCP elicitation');
    expect(textOf(result)).toContain('confirmation_unavailable');
    await expectNotMovedAndDenied(result, { source, destination }, before, 'unavailable', 'confirmation_unavailable');
  });

  it('never shows raw secrets in the prompt: the arguments are redacted first', async () => {
    const { client, prompts } = await connectAlice(async () => ({ action: 'decline' }));
    const { source } = seedFile('secret.md');
    const secret = 'sk_live_51HxQ2eZvKYlo2C0a1b2c3d4e5f6g7h8i9';
    const result = await client.callTool({
      name: 'filesystem__move_file',
      arguments: { source, destination: path.join(h.workspace, 'notes', `token=${secret}`) },
    });
    expect(result.isError).toBe(true);
    expect(prompts).toHaveLength(1);
    const message = (prompts[0]!.params as { message: string }).message;
    expect(message).toContain('[redacted:');
    expect(message).not.toContain(secret);
    expect(JSON.stringify(await rowsOf(requestIdOf(result)))).not.toContain(secret);
  });
});

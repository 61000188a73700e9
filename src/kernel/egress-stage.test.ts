/**
 * The egress and redact_model stages through the whole pipeline: a destination off the
 * allow-list is a deny row naming it (and the user); an allowed one rides on the intent and
 * result rows with the payload hash; a model call leaves redacted, pseudonyms included, while
 * the trail keeps irreversible markers.
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryAudit } from '../audit/index.test-support.js';
import { createEgressGuard, createProtector, createPseudonymVault } from '../protect/index.js';
import { DENY_REASONS } from './deny-reasons.js';
import { digestJson } from './digest.js';
import { createPipeline } from './pipeline.js';
import type { PipelineDeps } from './pipeline.js';
import type { ActivePolicy } from './ports.js';
import type { ToolCall } from './types.js';

const policy: ActivePolicy = {
  bundleHash: 'b'.repeat(64),
  classificationRules: [],
  classifyTool: (t) => (t.name === 'fetch' ? { classes: ['egress'], urls: ['url'] } : { classes: ['read'] }),
  egress: { allow: [{ hosts: ['api.example.com', 'localhost'], schemes: ['https', 'http'], ports: [443, 8080] }] },
  decide: () => ({ decision: 'allow', reasons: [], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] }),
};

const principal = { sub: 'dana', iss: 'https://idp', roles: [], groups: [] };
const call = (overrides: Partial<ToolCall>): ToolCall => ({
  requestId: 'req-1',
  kind: 'tool',
  tool: { server: 'web', name: 'fetch' },
  arguments: {},
  principal,
  agent: { name: 'agent', tier: 'interactive', delegationChain: ['user:dana'] },
  ...overrides,
});

function setup(extra: Partial<PipelineDeps> = {}) {
  const audit = createMemoryAudit();
  const resolve = async (host: string) => (host === 'api.example.com' ? ['93.184.216.34'] : host === 'localhost' ? ['127.0.0.1'] : []);
  const pipeline = createPipeline({
    policy: { current: () => policy },
    protector: createProtector(),
    audit,
    clock: { now: () => new Date(0) },
    ids: { newId: () => 'id' },
    egress: createEgressGuard({ resolve }),
    ...extra,
  });
  return { audit, pipeline };
}

describe('the egress stage', () => {
  it('denies a destination off the allow-list, the metadata address and a name resolving to loopback: a deny row with the destination and the user', async () => {
    const cases = [
      ['https://evil.example.net/x', 'https://evil.example.net:443', DENY_REASONS.EGRESS_NOT_ALLOWED],
      ['http://169.254.169.254/latest/meta-data/', 'http://169.254.169.254:80', DENY_REASONS.EGRESS_PRIVATE_ADDRESS],
      ['http://localhost:8080/admin', 'http://localhost:8080', DENY_REASONS.EGRESS_PRIVATE_ADDRESS],
    ] as const;
    for (const [url, destination, reason] of cases) {
      const { audit, pipeline } = setup();
      const forward = vi.fn();
      const args = { url };
      const result = await pipeline.run(call({ arguments: args }), forward);
      expect(result.forwarded).toBe(false);
      expect(forward).not.toHaveBeenCalled();
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0]).toMatchObject({
        event: 'deny',
        user: { sub: 'dana' },
        policy: { decision: 'deny', reasons: [reason] },
        egress: { destination, payload_sha256: digestJson(args) },
      });
    }
  });

  it('lets an allowed destination through; intent and result rows carry egress', async () => {
    const { audit, pipeline } = setup();
    const args = { url: 'https://api.example.com/v1?q=1' };
    const result = await pipeline.run(call({ arguments: args }), async () => ({ ok: true }));
    expect(result.forwarded).toBe(true);
    const egress = { destination: 'https://api.example.com:443', payload_sha256: digestJson(args) };
    expect(audit.rows.map((r) => [r.event, r.egress])).toEqual([
      ['intent', egress],
      ['result', egress],
    ]);
  });

  it('fails closed: without a guard a tool that may egress is denied; a tool that cannot egress has no egress field', async () => {
    const { audit, pipeline } = setup({ egress: undefined });
    await pipeline.run(call({ arguments: { url: 'https://api.example.com/' } }), vi.fn());
    expect(audit.rows[0]?.policy.reasons).toEqual([DENY_REASONS.EGRESS_UNRESOLVABLE]);
    const read = setup();
    await read.pipeline.run(call({ tool: { server: 'fs', name: 'read' }, arguments: { path: 'https://x.example/' } }), async () => 'ok');
    expect(read.audit.rows.map((r) => [r.event, r.egress])).toEqual([
      ['intent', undefined],
      ['result', undefined],
    ]);
  });
});

describe('the redact_model stage', () => {
  it('redacts what leaves for a model provider with pseudonyms; the trail keeps irreversible markers; egress names the provider and hashes what left', async () => {
    const vault = createPseudonymVault({ clock: { now: () => new Date(0) } });
    const { audit, pipeline } = setup({ pseudonyms: vault });
    const body = { model: 'm', messages: [{ role: 'user', content: 'Patient SSN 123-45-6789, mail jane@example.com' }] };
    const sent: unknown[] = [];
    await pipeline.run(
      call({ kind: 'model', tool: { server: 'llm', name: 'openai.chat.completions' }, arguments: body, destination: 'https://api.openai.com:443' }),
      async (auth) => {
        sent.push(auth.outbound?.value);
        return { ok: true };
      },
    );
    const content = (sent[0] as typeof body).messages[0]!.content;
    expect(content).toMatch(/^Patient SSN \[redacted:ssn#[0-9a-f]+\], mail \[redacted:email#[0-9a-f]+\]$/);
    expect(vault.restore(principal, content)).toBe(body.messages[0]!.content);
    const intent = audit.rows[0]!;
    expect(JSON.stringify(intent.input)).toContain('Patient SSN [redacted:ssn], mail [redacted:email]');
    expect(JSON.stringify(audit.rows)).not.toContain('#');
    expect(intent.egress).toEqual({ destination: 'https://api.openai.com:443', payload_sha256: digestJson(sent[0]) });
  });
});

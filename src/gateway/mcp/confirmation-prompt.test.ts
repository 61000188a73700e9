import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import type { Authorization, Decision } from '../../kernel/index.js';
import { askConfirmation, buildConfirmationMessage, buildConfirmationParams, describeConfirmationDenial } from './confirmation-prompt.js';

const decision: Decision = { decision: 'confirm', reasons: ['destructive_requires_confirmation'], bundleHash: 'b', determiningPolicies: ['p'] };

const auth = {
  call: {
    requestId: 'req-7',
    kind: 'tool',
    tool: { server: 'filesystem', name: 'move_file' },
    arguments: { source: '/w/a.txt', destination: '/w/b.txt', note: 'ssn 123-45-6789' },
    principal: { sub: 'alice', iss: 'https://idp', email: 'alice@example.test', roles: [], groups: [] },
    agent: { name: 'claude-desktop', tier: 'interactive', delegationChain: [] },
  },
  decision,
  dataClasses: [],
  toolClasses: ['destructive'],
  redactedArguments: { value: { source: '/w/a.txt', destination: '/w/b.txt', note: 'ssn [redacted:ssn]' }, count: 1, types: ['ssn'] },
  record: {} as Authorization['record'],
} as Authorization;

function fakeServer(
  capabilities: Record<string, unknown> | undefined,
  answer: () => Promise<ElicitResult>,
): Server & { elicitInput: ReturnType<typeof vi.fn> } {
  return { getClientCapabilities: () => capabilities, elicitInput: vi.fn(answer) } as unknown as Server & { elicitInput: ReturnType<typeof vi.fn> };
}

const FORM = { elicitation: { form: {} } };

describe('confirmation prompt', () => {
  it('names the user, the agent, the tool and the REDACTED arguments, never the raw ones', () => {
    const message = buildConfirmationMessage(auth);
    expect(message).toContain('alice@example.test');
    expect(message).toContain('claude-desktop');
    expect(message).toContain('filesystem/move_file');
    expect(message).toContain('[redacted:ssn]');
    expect(message).toContain('destructive_requires_confirmation');
    expect(message).toContain('req-7');
    expect(message).not.toContain('123-45-6789');
    const params = buildConfirmationParams(auth);
    expect(params.mode).toBe('form');
    expect(params.requestedSchema.properties.confirm).toMatchObject({ type: 'boolean' });
    expect(params.requestedSchema.required).toEqual(['confirm']);
  });

  it('cuts very long arguments', () => {
    const long = { ...auth, redactedArguments: { value: { text: 'x'.repeat(10_000) }, count: 0, types: [] } } as Authorization;
    expect(buildConfirmationMessage(long).length).toBeLessThan(2500);
  });

  it.each([
    [{ action: 'accept', content: { confirm: true } }, 'accepted'],
    [{ action: 'accept', content: { confirm: false } }, 'declined'],
    [{ action: 'accept', content: { confirm: 'true' } }, 'declined'],
    [{ action: 'accept' }, 'declined'],
    [{ action: 'decline' }, 'declined'],
    [{ action: 'cancel' }, 'declined'],
  ] as const)('maps the answer %j to %s', async (answer, outcome) => {
    const server = fakeServer(FORM, async () => answer as ElicitResult);
    await expect(askConfirmation(server, auth, { timeoutMs: 5000, relatedRequestId: 3 })).resolves.toBe(outcome);
    expect(server.elicitInput).toHaveBeenCalledWith(expect.objectContaining({ mode: 'form' }), expect.objectContaining({ timeout: 5000, relatedRequestId: 3 }));
  });

  it('is unavailable without form elicitation, and never asks then', async () => {
    for (const caps of [undefined, {}, { elicitation: { url: {} } }]) {
      const server = fakeServer(caps, async () => ({ action: 'accept', content: { confirm: true } }));
      await expect(askConfirmation(server, auth, { timeoutMs: 5000 })).resolves.toBe('unavailable');
      expect(server.elicitInput).not.toHaveBeenCalled();
    }
  });

  it('reports a timeout, an error and an aborted call as outcomes that deny', async () => {
    const timeout = fakeServer(FORM, async () => Promise.reject(new McpError(ErrorCode.RequestTimeout, 'Request timed out')));
    await expect(askConfirmation(timeout, auth, { timeoutMs: 5 })).resolves.toBe('timeout');
    const failing = fakeServer(FORM, async () => Promise.reject(new Error('boom')));
    await expect(askConfirmation(failing, auth, { timeoutMs: 5 })).resolves.toBe('unavailable');
    const controller = new AbortController();
    controller.abort();
    const aborted = fakeServer(FORM, async () => Promise.reject(new McpError(ErrorCode.RequestTimeout, 'AbortError')));
    await expect(askConfirmation(aborted, auth, { timeoutMs: 5, signal: controller.signal })).resolves.toBe('unavailable');
  });

  it('describes each denial for the agent, and nothing else', () => {
    const of = (reason: string): string | undefined =>
      describeConfirmationDenial({ ...decision, decision: 'deny', reasons: [reason, 'destructive_requires_confirmation'] });
    expect(of('confirmation_declined')).toMatch(/did not confirm.*confirmation_declined/);
    expect(of('confirmation_timeout')).toMatch(/in time.*confirmation_timeout/);
    expect(of('confirmation_unavailable')).toMatch(/does not support MCP elicitation.*confirmation_unavailable/);
    expect(of('phi_requires_clinician')).toBeUndefined();
  });
});

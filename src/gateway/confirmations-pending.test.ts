import { describe, expect, it } from 'vitest';
import type { Authorization } from '../kernel/index.js';
import { createPromptRegistry } from './confirmations-pending.js';

const auth = (requestId: string) =>
  ({
    call: { requestId, principal: { sub: 'alice', email: 'alice@example.test' }, agent: { name: 'claude' }, tool: { server: 'fs', name: 'move_file' } },
    decision: { reasons: ['destructive_requires_confirmation'] },
  }) as unknown as Authorization;

describe('the pending-confirmation registry', () => {
  it('lists a prompt while it waits and drops it once answered, two prompts of one request apart', () => {
    const registry = createPromptRegistry(() => new Date('2026-01-01T00:00:00Z'));
    const first = registry.hold(auth('r1'), 'mcp_elicitation', 120_000);
    const second = registry.hold(auth('r1'), 'mcp_elicitation', 120_000);
    expect(registry.list()).toHaveLength(2);
    expect(registry.list()[0]).toEqual({
      request_id: 'r1',
      channel: 'mcp_elicitation',
      user: 'alice@example.test',
      agent: 'claude',
      tool: 'fs/move_file',
      reasons: ['destructive_requires_confirmation'],
      since: '2026-01-01T00:00:00.000Z',
      expires_at: '2026-01-01T00:02:00.000Z',
    });
    first();
    first();
    expect(registry.list()).toHaveLength(1);
    second();
    expect(registry.list()).toEqual([]);
  });
});

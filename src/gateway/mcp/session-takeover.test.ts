import { describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { currentRecord, needsWrite, recordOfInitialize } from './session-takeover.js';

const alice: Principal = { sub: 'alice', iss: 'https://idp', roles: [], groups: [], sessionId: 'sid-1' } as unknown as Principal;
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} }, clientInfo: { name: 'desk', version: '2' } },
};

describe('the stored MCP session', () => {
  it('keeps what the client declared at initialize, and its owner', () => {
    const record = recordOfInitialize('s1', alice, initialize, 1000);
    expect(record).toEqual({
      id: 's1',
      owner: { sub: 'alice', iss: 'https://idp' },
      openedMs: 1000,
      lastSeenMs: 1000,
      protocolVersion: '2025-06-18',
      clientInfo: { name: 'desk', version: '2' },
      capabilities: { elicitation: {} },
      subscriptions: [],
      sessionIds: ['sid-1'],
    });
    expect(recordOfInitialize('s2', alice, { ...initialize, params: { ...initialize.params, protocolVersion: '1999-01-01' } }, 0).protocolVersion).not.toBe(
      '1999-01-01',
    );
  });

  it('is written again when its subscriptions, log level or sids change, or its last-seen time is stale', () => {
    const stored = recordOfInitialize('s1', alice, initialize, 1000);
    const same = currentRecord(stored, { lastSeenMs: 1500, sessionIds: new Set(['sid-1']) });
    expect(needsWrite(stored, same, 60_000)).toBe(false);
    expect(needsWrite(stored, currentRecord(stored, { lastSeenMs: 61_000, sessionIds: new Set(['sid-1']) }), 60_000)).toBe(true);
    expect(needsWrite(stored, currentRecord(stored, { lastSeenMs: 1500, sessionIds: new Set(['sid-1']), subscriptions: new Set(['fs://a']) }), 60_000)).toBe(
      true,
    );
    expect(needsWrite(stored, currentRecord(stored, { lastSeenMs: 1500, sessionIds: new Set(['sid-1']), logLevel: 'debug' }), 60_000)).toBe(true);
    expect(needsWrite(stored, currentRecord(stored, { lastSeenMs: 1500, sessionIds: new Set(['sid-1', 'sid-2']) }), 60_000)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { buildConfirmRow, buildDenyRow, buildIntentRow, buildResultRow, subjectOfCall } from './audit-rows.js';
import { canonicalize } from './canonical.js';
import type { ToolCall } from './types.js';

const CALL = {
  requestId: 'req-1',
  kind: 'tool',
  principal: { sub: 'dana', iss: 'https://idp.example/', email: 'dana@example.com', sessionId: 's-1', tenant: 't-1' },
  agent: {
    name: 'bench-client',
    tier: 'interactive',
    declaredTier: 'interactive',
    delegationChain: ['user:dana', 'agent:bench-client'],
    userAgent: 'node',
    runtime: 'node',
    sdk: 'mcp',
    version: '1',
  },
  tool: { server: 'fs', name: 'read_text_file' },
  traceId: 'f'.repeat(32),
  emergency: { grantId: 'g-1' },
  arguments: { path: '/x' },
} as unknown as ToolCall;

const STAMP = { time: '2026-01-01T00:00:00.000Z', requestId: 'req-1', bundleHash: 'a'.repeat(64) };
const DECISION = { decision: 'allow' as const, reasons: ['r'], determiningPolicies: ['p0'], emergencyChange: true as const };

/** Every object of the row the builders made, the caller's payloads (`redacted`, `detail`, `egress`) left out. */
function builtObjects(value: unknown, path = ''): Array<[string, object]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  if (/\.(redacted|detail|egress|input|output|confirmation|redactions)$/.test(path)) return [];
  return [[path, value], ...Object.entries(value).flatMap(([k, v]) => builtObjects(v, `${path}.${k}`))];
}

describe('the call rows (intent, deny, confirm, result)', () => {
  const subject = subjectOfCall(CALL, ['read']);
  const rows = {
    intent: buildIntentRow(STAMP, subject, { decision: DECISION, dataClasses: [], input: { redacted: { path: '/x' }, sha256: 'b'.repeat(64) } }),
    deny: buildDenyRow(STAMP, subject, { decision: DECISION, egress: { destinations: [] } as never, detail: { z: 1, a: 2 } }),
    confirm: buildConfirmRow(STAMP, subject, { decision: DECISION, channel: 'console' }),
    result: buildResultRow(STAMP, subject, {
      decision: DECISION,
      dataClasses: ['phi'],
      output: { redacted: 'ok', sha256: 'c'.repeat(64) },
      redactions: { count: 0, types: [] },
    }),
  };

  it('list their members in RFC 8785 order, so the canonicaliser need not sort them', () => {
    for (const [event, row] of Object.entries(rows)) {
      for (const [path, obj] of builtObjects(row)) expect([event, path, Object.keys(obj)]).toEqual([event, path, Object.keys(obj).sort()]);
    }
  });

  it('carry the fields they carried before, with undefined members dropped from the text', () => {
    const intent = JSON.parse(canonicalize(rows.intent)) as Record<string, unknown>;
    expect(Object.keys(intent)).toEqual([
      'access',
      'agent',
      'data_classes',
      'event',
      'input',
      'kind',
      'policy',
      'redactions',
      'request_id',
      'schema',
      'time',
      'tool',
      'trace_id',
      'user',
    ]);
    expect(intent.policy).toEqual({ bundle_hash: 'a'.repeat(64), decision: 'allow', determining_policies: ['p0'], emergency_change: true, reasons: ['r'] });
    expect(intent.tool).toEqual({ classes: ['read'], name: 'read_text_file', server: 'fs' });
    expect(intent.access).toEqual({ emergency: true, grant_id: 'g-1' });
    expect(JSON.parse(canonicalize(rows.deny))).toMatchObject({ event: 'deny', egress: { destinations: [] }, detail: { a: 2, z: 1 } });
    expect(JSON.parse(canonicalize(rows.confirm))).toMatchObject({
      event: 'confirm',
      confirmation: { status: 'requested', channel: 'console' },
      policy: { decision: 'confirm' },
    });
    expect(JSON.parse(canonicalize(rows.result))).toMatchObject({
      event: 'result',
      data_classes: ['phi'],
      output: { redacted: 'ok' },
      policy: { decision: 'allow' },
    });
    const plain = buildResultRow(STAMP, subjectOfCall({ ...CALL, emergency: undefined }), {
      decision: { ...DECISION, emergencyChange: undefined },
      dataClasses: [],
      output: { redacted: null, sha256: 'c' },
      redactions: { count: 0, types: [] },
    });
    const text = canonicalize(plain);
    for (const absent of ['"access"', '"egress"', '"detail"', '"emergency_change"', '"classes"']) expect(text).not.toContain(absent);
  });
});

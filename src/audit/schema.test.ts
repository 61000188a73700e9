import { readFileSync } from 'node:fs';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { createAuditStore } from './index.js';
import { collect, makeEntry } from './index.test-support.js';

type Constructor = new (opts: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const Ajv2020 = ((Ajv2020Module as unknown as { default?: Constructor }).default ?? Ajv2020Module) as unknown as Constructor;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: unknown) => void;

const schema = JSON.parse(readFileSync(new URL('../../schema/audit-record.schema.json', import.meta.url), 'utf8')) as {
  properties: Record<string, { properties?: Record<string, unknown> }>;
};
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(schema);

// Every field of the kernel type, optional ones included: the compiler fails here when
// the kernel type gains or loses a field, and the key comparisons below fail when the schema drifts.
type Rec = AuditRecord;
const USER: Required<Rec['user']> = { sub: 'user-1', iss: 'https://idp/', email: 'a@b.c', tenant: 't1', session_id: 's1', anonymous: true };
const AGENT: Required<NonNullable<Rec['agent']>> = {
  name: 'agent',
  runtime: 'node',
  version: '1',
  user_agent: 'node',
  sdk: 'js 4.0.0 (node v20.0.0)',
  tier: 'subagent',
  declared_tier: 'subagent',
  delegation_chain: ['user:user-1'],
};
const TOOL: Required<NonNullable<Rec['tool']>> = { server: 'fs', name: 'read_file', classes: ['reads_phi'] };
const POLICY: Required<Rec['policy']> = { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: ['p0'], reasons: [], emergency_change: true };
const INPUT: Required<NonNullable<Rec['input']>> = { redacted: { a: 1 }, sha256: 'b'.repeat(64) };
const OUTPUT: Required<NonNullable<Rec['output']>> = { redacted: 'x', sha256: 'c'.repeat(64), error: 'ERR_GATEWAY_UPSTREAM_FAILED' };
const REDACTIONS: Required<Rec['redactions']> = { count: 1, types: ['ticket'], rules: [{ rule: 'custom:ticket-id', type: 'ticket', count: 1 }], allowed: 1 };
const CONFIRMATION: Required<NonNullable<Rec['confirmation']>> = { status: 'accepted', channel: 'mcp_elicitation' };
const EGRESS: Required<NonNullable<Rec['egress']>> = {
  destination: 'https://a.example:443',
  destinations: ['https://a.example:443', 'https://b.example:443'],
  payload_sha256: 'f'.repeat(64),
};
const OFFLINE: Required<NonNullable<Rec['offline']>> = {
  recorded_offline: true,
  occurred_at: '2025-01-01T00:00:00.000Z',
  outage: { from: '2025-01-01T00:00:00.000Z', to: '2025-01-01T00:05:00.000Z' },
  journal: { key_thumbprint: 'k'.repeat(43), seq: 1, entry_hash: 'f'.repeat(64) },
};
const CHECKPOINT: Required<NonNullable<Rec['checkpoint']>> = { tree_size: 3, root_hash: 'e'.repeat(64), key_id: '0123456789abcdef', signature: 'A'.repeat(86) };
const NESTED = {
  checkpoint: CHECKPOINT,
  user: USER,
  agent: AGENT,
  tool: TOOL,
  policy: POLICY,
  input: INPUT,
  output: OUTPUT,
  redactions: REDACTIONS,
  confirmation: CONFIRMATION,
  egress: EGRESS,
  offline: OFFLINE,
};

const FULL: Required<AuditRecord> = {
  schema: AUDIT_SCHEMA,
  event: 'result',
  time: '2025-01-01T00:00:00.000Z',
  request_id: 'req-1',
  kind: 'tool',
  user: { sub: 'user-1', iss: 'https://idp/', email: 'a@b.c', tenant: 't1', session_id: 's1' },
  agent: AGENT,
  tool: TOOL,
  data_classes: ['phi'],
  policy: POLICY,
  input: INPUT,
  output: OUTPUT,
  redactions: REDACTIONS,
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  access: { emergency: true, grant_id: 'g1' },
  control_test: true,
  confirmation: CONFIRMATION,
  egress: EGRESS,
  alert: { type: 'tier_mismatch', severity: 'high' },
  checkpoint: CHECKPOINT,
  offline: OFFLINE,
  detail: { note: 'n' },
  seq: 1,
  prev_hash: '0'.repeat(64),
  hash: 'd'.repeat(64),
};

const keys = (o: object | undefined): string[] => Object.keys(o ?? {}).sort();

describe('audit record JSON Schema', () => {
  it('names exactly the fields of the kernel AuditRecord type', () => {
    expect(keys(schema.properties)).toEqual(keys(FULL));
    for (const [name, value] of Object.entries(NESTED)) expect(keys(schema.properties[name]?.properties), name).toEqual(keys(value));
    expect(validate(FULL)).toBe(true);
  });

  it('validates every kind of record the store produces', async () => {
    const store = await createAuditStore('sqlite::memory:');
    await store.append(makeEntry(1));
    await store.append(makeEntry(2));
    await store.append(makeEntry(3, { event: 'deny', user: { sub: null, anonymous: true }, agent: undefined, tool: undefined, kind: undefined }));
    await store.append(makeEntry(4, { event: 'admin', detail: { action: 'bundle_activated', from: 'none', to: 'a'.repeat(64) } }));
    const records = await collect(store.read());
    await store.close();
    for (const record of records) expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects records that are not custos.audit/v1', () => {
    const bad: unknown[] = [
      { ...FULL, schema: 'custos.audit/v2' },
      { ...FULL, extra: 1 },
      { ...FULL, seq: 0 },
      { ...FULL, hash: 'D'.repeat(64) },
      { ...FULL, time: 'yesterday' },
      { ...FULL, user: { sub: null } },
      { ...FULL, policy: { ...FULL.policy, decision: 'maybe' } },
      { ...FULL, redactions: { count: -1, types: [] } },
      { ...FULL, confirmation: { status: 'maybe' } },
      { ...FULL, agent: { ...FULL.agent, tier: 'root' } },
      Object.fromEntries(Object.entries(FULL).filter(([k]) => k !== 'prev_hash')),
    ];
    for (const record of bad) expect(validate(record), JSON.stringify(record).slice(0, 80)).toBe(false);
  });
});

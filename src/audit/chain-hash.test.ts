import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_SCHEMA, GENESIS_HASH } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { chainRecord, computeRecordHash } from './chain-hash.js';

const RECORD: Omit<AuditRecord, 'hash'> = {
  schema: AUDIT_SCHEMA,
  event: 'intent',
  time: '2025-01-01T00:00:00.000Z',
  request_id: 'req-1',
  kind: 'tool',
  user: { sub: 'user-123', iss: 'https://idp.example.com/', email: 'zoë@example.com' },
  agent: { name: 'claude-desktop', tier: 'interactive', delegation_chain: ['user:user-123', 'agent:claude-desktop', 'tool:fs/read_file'] },
  tool: { server: 'fs', name: 'read_file' },
  policy: { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: ['policy0'], reasons: [] },
  input: { redacted: { path: '/notes/[redacted:ssn].txt' }, sha256: 'b'.repeat(64) },
  redactions: { count: 1, types: ['ssn'] },
  seq: 1,
  prev_hash: GENESIS_HASH,
};

// RFC 8785 form of RECORD, written out by hand: keys sorted, no whitespace, UTF-8 as is.
const CANONICAL =
  '{"agent":{"delegation_chain":["user:user-123","agent:claude-desktop","tool:fs/read_file"],"name":"claude-desktop","tier":"interactive"},' +
  '"event":"intent","input":{"redacted":{"path":"/notes/[redacted:ssn].txt"},"sha256":"' +
  'b'.repeat(64) +
  '"},"kind":"tool",' +
  '"policy":{"bundle_hash":"' +
  'a'.repeat(64) +
  '","decision":"allow","determining_policies":["policy0"],"reasons":[]},' +
  '"prev_hash":"' +
  '0'.repeat(64) +
  '","redactions":{"count":1,"types":["ssn"]},"request_id":"req-1","schema":"custos.audit/v1","seq":1,' +
  '"time":"2025-01-01T00:00:00.000Z","tool":{"name":"read_file","server":"fs"},"user":{"email":"zoë@example.com","iss":"https://idp.example.com/","sub":"user-123"}}';

// Computed once with Python (hashlib + json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)).
const KNOWN_HASH = 'f02ad7cfd585677e2db9e8680c680be6a9e6f6f5967f50f62d2e3ad3d6c544b6';

describe('computeRecordHash', () => {
  it('matches SHA-256(prev_hash ‖ JCS(record)) computed independently', () => {
    const independent = createHash('sha256')
      .update(GENESIS_HASH + CANONICAL, 'utf8')
      .digest('hex');
    expect(independent).toBe(KNOWN_HASH);
    expect(computeRecordHash(RECORD)).toBe(KNOWN_HASH);
  });

  it('ignores a hash field already present and key order', () => {
    const withHash = { ...RECORD, hash: 'f'.repeat(64) } as AuditRecord;
    expect(computeRecordHash(withHash)).toBe(KNOWN_HASH);
    const reordered = Object.fromEntries(Object.entries(RECORD).reverse()) as typeof RECORD;
    expect(computeRecordHash(reordered)).toBe(KNOWN_HASH);
  });

  it('changes with any field, including prev_hash and nested values', () => {
    expect(computeRecordHash({ ...RECORD, prev_hash: '1'.repeat(64) })).not.toBe(KNOWN_HASH);
    expect(computeRecordHash({ ...RECORD, seq: 2 })).not.toBe(KNOWN_HASH);
    expect(computeRecordHash({ ...RECORD, user: { ...RECORD.user, sub: 'user-124' } })).not.toBe(KNOWN_HASH);
    expect(computeRecordHash({ ...RECORD, redactions: { count: 2, types: ['ssn'] } })).not.toBe(KNOWN_HASH);
  });
});

describe('chainRecord', () => {
  it('links to the previous head and stores canonical text that includes the hash', () => {
    const { seq: _s, prev_hash: _p, ...fields } = RECORD;
    const first = chainRecord(fields, { seq: 0, hash: GENESIS_HASH });
    expect(first.record.seq).toBe(1);
    expect(first.record.hash).toBe(KNOWN_HASH);
    expect(first.json).toBe(CANONICAL.replace('"input"', `"hash":"${KNOWN_HASH}","input"`));

    const second = chainRecord(fields, { seq: 1, hash: first.record.hash });
    expect(second.record).toMatchObject({ seq: 2, prev_hash: KNOWN_HASH });
    expect(second.record.hash).toBe(computeRecordHash({ ...RECORD, seq: 2, prev_hash: KNOWN_HASH }));
  });

  it('overrides chain fields smuggled in by the caller', () => {
    const smuggled = { ...RECORD, seq: 99, prev_hash: 'e'.repeat(64), hash: 'd'.repeat(64) };
    const { record } = chainRecord(smuggled, { seq: 0, hash: GENESIS_HASH });
    expect(record.seq).toBe(1);
    expect(record.prev_hash).toBe(GENESIS_HASH);
    expect(record.hash).toBe(KNOWN_HASH);
  });

  it('drops undefined fields the way JSON does', () => {
    const { seq: _s, prev_hash: _p, ...fields } = RECORD;
    const { record, json } = chainRecord({ ...fields, trace_id: undefined, user: { ...fields.user, tenant: undefined } }, { seq: 0, hash: GENESIS_HASH });
    expect(record.hash).toBe(KNOWN_HASH);
    expect(json).not.toContain('trace_id');
    expect('trace_id' in record).toBe(false);
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { createMemoryAudit, makeEntry } from '../audit/index.test-support.js';
import type { AuditRecord } from '../kernel/index.js';
import { renderTombstone } from '../audit/retention-format.js';
import { carries } from './format.js';
import { toOcsf } from './ocsf.js';

const schema = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../test/fixtures/ocsf/api-activity-1.3.0.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

async function rows(): Promise<AuditRecord[]> {
  const store = createMemoryAudit();
  await store.append(makeEntry(1));
  await store.append(makeEntry(2, { output: { redacted: null, sha256: 'c'.repeat(64), error: 'ERR_GATEWAY_UPSTREAM_FAILED' } }));
  await store.append(
    makeEntry(3, {
      event: 'deny',
      kind: 'resource',
      policy: { decision: 'deny', bundle_hash: 'a'.repeat(64), determining_policies: [], reasons: ['phi_requires_clinician', 'tier_mismatch'] },
    }),
  );
  await store.append(
    makeEntry(4, {
      event: 'auth_failure',
      user: { sub: null, anonymous: true },
      agent: undefined,
      tool: undefined,
      detail: { source: '127.0.0.1' },
      policy: { decision: 'deny', bundle_hash: 'none', determining_policies: [], reasons: ['ERR_IDENTITY_TOKEN_MISSING'] },
    }),
  );
  await store.append(
    makeEntry(5, {
      event: 'admin',
      tool: undefined,
      agent: undefined,
      user: { sub: 'custos', tenant: 't1' },
      detail: { action: 'policy_activated' },
      trace_id: '0af7651916cd43dd8448eb211c80319c',
    }),
  );
  return store.rows;
}

describe('OCSF API Activity mapping', () => {
  it('every kind of row validates against the required fields and types of class 6003', async () => {
    for (const row of await rows()) {
      const event = toOcsf(row);
      expect(validate(event), `seq ${row.seq}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('the schema check can fail: an event without api.operation or with a wrong class is refused', async () => {
    const [row] = await rows();
    const event = toOcsf(row!) as { api: Record<string, unknown> };
    expect(validate({ ...event, api: { ...event.api, operation: undefined } })).toBe(false);
    expect(validate({ ...event, class_uid: 3001 })).toBe(false);
    expect(validate({ ...event, time: row!.time })).toBe(false);
  });

  it('maps the decision, the outcome and the chain as docs/audit-schema.md tables them', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- reading nested fields of plain JSON events
    const [intent, failed, deny, authFailure, admin] = (await rows()).map(toOcsf) as Array<Record<string, any>>;
    expect(intent).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 99,
      type_uid: 600399,
      status_id: 0,
      action_id: 1,
      disposition_id: 1,
      severity_id: 1,
    });
    expect(intent!.time).toBe(Date.UTC(2025, 0, 1, 0, 0, 1));
    expect(intent!.metadata).toMatchObject({
      sequence: 1,
      correlation_uid: 'req-1',
      event_code: 'intent',
      log_name: 'custos.audit/v1',
      original_time: '2025-01-01T00:00:01.000Z',
    });
    expect(intent!.actor).toEqual({
      user: { uid: 'user-123', email_addr: 'dana@example.com' },
      idp: { uid: 'https://idp.example.com/' },
      app_name: 'claude-desktop',
    });
    expect(intent!.api).toEqual({ operation: 'read_file', service: { name: 'fs' }, request: { uid: 'req-1' } });
    expect(intent!.policy).toEqual({ uid: 'a'.repeat(64) });
    expect(intent!.unmapped.chain).toEqual({ seq: 1, prev_hash: '0'.repeat(64), hash: intent!.metadata.uid });
    expect(intent!.unmapped).toMatchObject({
      input_sha256: 'b'.repeat(64),
      redactions: { count: 1, types: ['ssn'] },
      data_classes: ['phi'],
      tool_classes: ['reads_phi'],
    });
    expect(JSON.stringify(intent)).not.toContain('[redacted:ssn]');
    expect(failed).toMatchObject({ status_id: 2, status: 'Failure', api: { response: { error: 'ERR_GATEWAY_UPSTREAM_FAILED' } } });
    expect(deny).toMatchObject({
      activity_id: 2,
      type_uid: 600302,
      status_id: 2,
      action_id: 2,
      disposition_id: 2,
      status_detail: 'phi_requires_clinician,tier_mismatch',
    });
    expect(authFailure!.actor).toEqual({ user: { name: 'anonymous', type_id: 0, type: 'Unknown' } });
    expect(authFailure!.src_endpoint).toEqual({ name: 'anonymous', ip: '127.0.0.1' });
    expect(admin).toMatchObject({
      status_id: 0,
      metadata: { tenant_uid: 't1' },
      trace: { uid: '0af7651916cd43dd8448eb211c80319c' },
      unmapped: { detail: { action: 'policy_activated' } },
    });
  });
});

describe('OCSF destination endpoint (egress)', () => {
  const egressRow = async (egress: AuditRecord['egress']): Promise<Record<string, unknown>> => {
    const store = createMemoryAudit();
    await store.append(makeEntry(1, { egress }));
    return toOcsf(store.rows[0]!);
  };

  it('maps egress.destination to dst_endpoint (host or IP, the port as recorded, the scheme), and keeps egress whole in unmapped', async () => {
    const sha = 'd'.repeat(64);
    const https = await egressRow({
      destination: 'https://api.example.com:443',
      destinations: ['https://api.example.com:443', 'http://10.0.0.7:8080'],
      payload_sha256: sha,
    });
    expect(https.dst_endpoint).toEqual({ hostname: 'api.example.com', port: 443, svc_name: 'https' });
    expect(https.unmapped).toMatchObject({
      egress: { destination: 'https://api.example.com:443', destinations: ['https://api.example.com:443', 'http://10.0.0.7:8080'], payload_sha256: sha },
    });
    expect((await egressRow({ destination: 'http://10.0.0.7:8080', payload_sha256: sha })).dst_endpoint).toEqual({
      ip: '10.0.0.7',
      port: 8080,
      svc_name: 'http',
    });
    expect((await egressRow({ destination: 'https://[2001:db8::1]:8443', payload_sha256: sha })).dst_endpoint).toEqual({
      ip: '2001:db8::1',
      port: 8443,
      svc_name: 'https',
    });
    expect((await egressRow({ destination: 'db.internal:5432', payload_sha256: sha })).dst_endpoint).toEqual({ hostname: 'db.internal', port: 5432 });
    for (const event of [https, await egressRow({ destination: 'db.internal:5432', payload_sha256: sha })])
      expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
  });

  it('names no endpoint for a row without egress or with only a marker, which unmapped keeps', async () => {
    expect(toOcsf((await rows())[0]!).dst_endpoint).toBeUndefined();
    for (const marker of ['unparseable', 'too_many_destinations']) {
      const event = await egressRow({ destination: marker, payload_sha256: 'd'.repeat(64) });
      expect(event.dst_endpoint).toBeUndefined();
      expect(event.unmapped).toMatchObject({ egress: { destination: marker } });
    }
  });
});

describe('which rows a format carries', () => {
  it('OCSF skips a purged row (tombstone), which has no event to map; JSON Lines keep it', () => {
    const tombstone = JSON.parse(renderTombstone(2, 'a'.repeat(64), 'b'.repeat(64), 9)) as AuditRecord;
    const row = { ...makeEntry(1), seq: 1, prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64) } as AuditRecord;
    expect([carries(tombstone, 'ocsf'), carries(tombstone, 'jsonl'), carries(row, 'ocsf'), carries(row, 'jsonl')]).toEqual([false, true, true, true]);
  });
});

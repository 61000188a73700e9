import { describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import type { AuditStoreAdmin } from '../audit/index.js';
import { CustosError } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { superviseAuditStore } from './audit-supervision.js';
import { createLogger } from './logger.js';

const entry = (n: number) => ({
  schema: 'custos.audit/v1' as const,
  event: 'intent' as const,
  time: new Date(Date.UTC(2030, 0, 1, 0, 0, n)).toISOString(),
  request_id: `r-${n}`,
  user: { sub: 'alice', iss: 'https://idp.test' },
  policy: { decision: 'allow' as const, bundle_hash: 'a'.repeat(64), determining_policies: [], reasons: [] },
  redactions: { count: 0, types: [] },
});

async function setup() {
  const fault = { down: false };
  const raw = await createAuditStore('sqlite::memory:');
  const faulty: AuditStoreAdmin = {
    ...raw,
    append: (e) => (fault.down ? Promise.reject(new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { detail: { reason: 'disk_full' } })) : raw.append(e)),
    read: (o) => raw.read(o),
    readRaw: (s) => raw.readRaw(s),
    head: () => raw.head(),
    close: () => raw.close(),
  };
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = { now: () => new Date(now), advance: (ms: number) => (now += ms) };
  const sup = superviseAuditStore(faulty, { logger: createLogger('silent'), clock, probeIntervalMs: 1000 });
  // stands in for the pipeline's recordAdmin: the row it builds, under custos:system
  sup.attach({
    recordAdmin: (input) =>
      sup.store.append({
        ...entry(0),
        event: 'admin',
        user: { sub: 'custos:system', iss: 'custos' },
        policy: { decision: 'allow', bundle_hash: 'b'.repeat(64), determining_policies: [], reasons: [input.action] },
        detail: { action: input.action, ...input.detail },
      }),
    recordRefusal: () => Promise.reject(new Error('not used')),
  });
  const rows = async (): Promise<AuditRecord[]> => {
    const out: AuditRecord[] = [];
    for await (const r of raw.read()) out.push(r);
    return out;
  };
  return { fault, sup, clock, rows, raw };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('superviseAuditStore', () => {
  it('probes a failing store at most once per interval and is ready again once the probe writes the outage row', async () => {
    const { fault, sup, clock, rows, raw } = await setup();
    fault.down = true;
    await expect(sup.store.append(entry(1))).rejects.toBeInstanceOf(CustosError);
    expect(sup.readiness()).toMatchObject({ state: 'failing', reason: 'disk_full', failedAppends: 1 }); // probe 1 (fails)
    await settle();
    expect(sup.readiness()).toMatchObject({ state: 'failing', failedAppends: 2 }); // within the interval: no probe
    await settle();
    expect(sup.readiness()).toMatchObject({ failedAppends: 2 });
    fault.down = false;
    expect(sup.readiness().state).toBe('failing'); // still within the interval
    clock.advance(1000);
    sup.readiness(); // probe 2 (writes)
    await settle();
    expect(sup.readiness()).toEqual({ state: 'ok' });
    const written = await rows();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      event: 'admin',
      user: { sub: 'custos:system' },
      policy: { bundle_hash: 'b'.repeat(64), reasons: ['audit_store_recovered'] },
      detail: { action: 'audit_store_recovered', reason: 'disk_full', failing_since: '2030-01-01T00:00:00.000Z', failed_appends: 2 },
    });
    await raw.close();
  });

  it('records the outage once when a call, not the probe, gets through first', async () => {
    const { fault, sup, rows, raw } = await setup();
    fault.down = true;
    await expect(sup.store.append(entry(1))).rejects.toBeInstanceOf(CustosError);
    fault.down = false;
    await sup.store.append(entry(2));
    await settle();
    const written = await rows();
    expect(written.map((r) => r.policy.reasons)).toEqual([[], ['audit_store_recovered']]);
    expect(sup.readiness()).toEqual({ state: 'ok' });
    await raw.close();
  });
});

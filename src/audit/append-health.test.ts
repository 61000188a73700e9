import { describe, expect, it } from 'vitest';
import { CustosError } from '../kernel/index.js';
import type { AuditEntry } from '../kernel/index.js';
import { createAuditStore, monitorAppends } from './index.js';
import type { AuditStoreAdmin } from './index.js';
import { makeEntry } from './index.test-support.js';

function faulty(store: AuditStoreAdmin, fault: { reason?: string }): AuditStoreAdmin {
  return {
    ...store,
    append: (entry: AuditEntry) =>
      fault.reason ? Promise.reject(new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { detail: { reason: fault.reason } })) : store.append(entry),
    read: (o) => store.read(o),
    readRaw: (s) => store.readRaw(s),
    head: () => store.head(),
    close: () => store.close(),
  };
}

describe('monitorAppends', () => {
  it('is failing from a failed append until one succeeds, counting failures, and reports the outage once', async () => {
    const fault: { reason?: string } = {};
    const outages: unknown[] = [];
    let t = Date.parse('2030-01-01T00:00:00Z');
    const store = monitorAppends(faulty(await createAuditStore('sqlite::memory:'), fault), {
      clock: { now: () => new Date((t += 1000)) },
      onRecovered: (outage) => outages.push(outage),
    });
    try {
      await store.append(makeEntry(1));
      expect(store.appendHealth()).toEqual({ state: 'ok' });
      fault.reason = 'disk_full';
      await expect(store.append(makeEntry(2))).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
      fault.reason = 'busy';
      await expect(store.append(makeEntry(2))).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
      expect(store.appendHealth()).toEqual({ state: 'failing', reason: 'busy', since: '2030-01-01T00:00:01.000Z', failedAppends: 2 });
      expect(outages).toEqual([]);
      fault.reason = undefined;
      await store.append(makeEntry(2));
      expect(store.appendHealth()).toEqual({ state: 'ok' });
      await store.append(makeEntry(3));
      expect(outages).toEqual([{ state: 'failing', reason: 'busy', since: '2030-01-01T00:00:01.000Z', failedAppends: 2 }]);
    } finally {
      await store.close();
    }
  });

  it('leaves health alone when the entry, not the store, is at fault', async () => {
    const store = monitorAppends(await createAuditStore('sqlite::memory:'));
    try {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(store.append(makeEntry(1, { detail: cyclic }))).rejects.toMatchObject({ detail: { reason: 'invalid_entry' } });
      expect(store.appendHealth()).toEqual({ state: 'ok' });
    } finally {
      await store.close();
    }
  });
});

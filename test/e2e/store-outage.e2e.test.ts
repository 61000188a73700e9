/**
 * Issue 7, defects 3 and 4: a store that cannot write fails closed fast and never blocks
 * the event loop, and /readyz tells the truth about it.
 *
 * 3. Another process holds BEGIN EXCLUSIVE on the trail for 5 s: every call started during
 *    the lock is denied with ERR_AUDIT_UNAVAILABLE within about 2 × busyTimeoutMs (intent
 *    row, then deny row), never answered with the upstream output, never succeeding seconds later; /healthz answers
 *    throughout. (Before: calls hung for the whole lock, /healthz stalled for seconds.)
 * 4. While the store is locked or full, /readyz is 503 naming the reason; once it writes
 *    again, it is ready again without a restart, and the trail records the outage.
 *
 * Issue 15: the session store (on PostgreSQL) down is a 503 naming it, never an ERR_INTERNAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdExclusiveLock } from '../../src/audit/index.test-support.js';
import type { AuditStoreAdmin } from '../../src/audit/index.js';
import { CustosError } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { startPostgres } from './postgres.js';
import type { TestPostgres } from './postgres.js';

const LOCK_MS = 5000;
/** What the must-show asks; the assertions below are looser so a loaded CI machine cannot flake them. */
const CALL_TARGET_MS = 500;
const HEALTH_TARGET_MS = 50;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T; endedAt: number }> {
  const started = performance.now();
  const value = await fn();
  const endedAt = performance.now();
  return { ms: endedAt - started, value, endedAt };
}

function authorize(h: Harness, token: string, path: string): Promise<{ status: number; body: { error?: { code?: string }; decision?: string } }> {
  return fetch(`${h.custos.url}/v1/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ tool: { server: 'filesystem', name: 'read_text_file' }, arguments: { path }, agent: { name: 'outage-test' } }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code?: string }; decision?: string } }));
}

async function readyz(h: Harness): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${h.custos.url}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function waitForReady(h: Harness, withinMs: number): Promise<void> {
  const until = performance.now() + withinMs;
  while (performance.now() < until) {
    if ((await readyz(h)).status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('not ready again in time');
}

describe('a locked audit store (defect 3)', () => {
  let h: Harness;
  let alice: string;
  beforeAll(async () => {
    h = await startHarness(); // audit.busyTimeoutMs: the default, 250 ms
    alice = await h.token('alice');
  });
  afterAll(async () => h?.close());

  it('denies calls quickly during a 5 s lock held by another process, keeps /healthz answering, and recovers', async () => {
    const client = await h.connect(alice);
    const handbook = `${h.workspace}/notes/handbook.md`;
    await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } }); // warm: a serving replica
    await authorize(h, alice, handbook);
    const before = h.upstreamCalls().length;
    const lock = await holdExclusiveLock(h.storeFile, LOCK_MS);
    const lockedAt = performance.now();
    const health: number[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        health.push((await timed(() => fetch(`${h.custos.url}/healthz`).then((r) => r.status))).ms);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const mcpCall = () =>
        timed(() =>
          client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } }).then(
            (r) => ({ ok: !r.isError, text: JSON.stringify(r) }),
            (e: Error) => ({ ok: false, text: e.message }),
          ),
        );
      const calls = [];
      for (let wave = 0; wave < 3; wave++) {
        const [mcp, api] = await Promise.all([
          Promise.all([mcpCall(), mcpCall()]),
          Promise.all([1, 2, 3].map(() => timed(() => authorize(h, alice, handbook)))),
        ]);
        calls.push(...mcp.map((c) => ({ ms: c.ms, endedAt: c.endedAt, denied: !c.value.ok && /ERR_AUDIT_UNAVAILABLE|audit/i.test(c.value.text) })));
        calls.push(
          ...api.map((c) => ({ ms: c.ms, endedAt: c.endedAt, denied: c.value.status === 503 && c.value.body.error?.code === 'ERR_AUDIT_UNAVAILABLE' })),
        );
        const ready = await readyz(h);
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({ status: 'not_ready', reasons: ['audit_busy'], checks: { audit: 'failing', auditFailure: { reason: 'busy' } } });
      }
      polling = false;
      await poll;
      const slowest = Math.max(...calls.map((c) => c.ms));
      const slowestHealth = Math.max(...health);
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(
        `locked store: ${calls.length} calls, median ${median(calls.map((c) => c.ms)).toFixed(0)} ms, slowest ${slowest.toFixed(0)} ms (target ${CALL_TARGET_MS}); /healthz ${health.length} probes, median ${median(health).toFixed(1)} ms, slowest ${slowestHealth.toFixed(0)} ms (target ${HEALTH_TARGET_MS})`,
      );
      for (const c of calls) {
        expect(c.denied).toBe(true);
        expect(c.ms).toBeLessThan(2000); // before: each call waited for the lock, up to the whole 5 s
        expect(c.endedAt - lockedAt).toBeLessThan(LOCK_MS); // denied while the lock was held, not served after it
      }
      expect(health.length).toBeGreaterThan(5);
      expect(slowestHealth).toBeLessThan(500); // before: /healthz stalled for seconds
    } finally {
      polling = false;
      await poll;
      await lock.release();
    }
    // Only read-only calls may run upstream before their intent row is durable (their output was dropped: every call was denied).
    expect(
      h
        .upstreamCalls()
        .slice(before)
        .filter((c) => c.name !== 'read_text_file'),
    ).toEqual([]);

    await waitForReady(h, 5000);
    const again = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } });
    expect(again.isError).toBeFalsy();
    const recovered = (await h.auditRecords()).filter((r) => r.policy.reasons.includes('audit_store_recovered'));
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ event: 'admin', user: { sub: 'custos:system' }, detail: { action: 'audit_store_recovered', reason: 'busy' } });
  });
});

describe('a full disk behind the store port (defect 4)', () => {
  let h: Harness;
  let alice: string;
  let full = false;
  const diskFull = () =>
    new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, {
      cause: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
      detail: { reason: 'disk_full' },
    });
  const decorate = (store: AuditStoreAdmin): AuditStoreAdmin => ({
    ...store,
    append: (entry) => (full ? Promise.reject(diskFull()) : store.append(entry)),
    read: (o) => store.read(o),
    readRaw: (s) => store.readRaw(s),
    head: () => store.head(),
    close: () => store.close(),
  });
  beforeAll(async () => {
    h = await startHarness({ decorateAuditStore: decorate });
    alice = await h.token('alice');
  });
  afterAll(async () => h?.close());

  it('is not ready while appends fail, denies calls, keeps /healthz up, and is ready again without a restart', async () => {
    const handbook = `${h.workspace}/notes/handbook.md`;
    expect((await readyz(h)).status).toBe(200);
    full = true;
    try {
      // reads still work, so the old read-based check said ready here
      const denied = await authorize(h, alice, handbook);
      expect(denied.status).toBe(503);
      expect(denied.body.error?.code).toBe('ERR_AUDIT_UNAVAILABLE');
      const ready = await readyz(h);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'not_ready',
        reasons: ['audit_disk_full'],
        checks: { audit: 'failing', policy: 'ok', auditFailure: { reason: 'disk_full' } },
      });
      expect((ready.body.checks as { upstreams: unknown[] }).upstreams).toHaveLength(1); // reported, not gating
      expect((await fetch(`${h.custos.url}/healthz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100)); // a probe while still full changes nothing
      expect((await readyz(h)).status).toBe(503);
    } finally {
      full = false;
    }
    // no call comes: the probe alone brings readiness back, recording the outage
    await waitForReady(h, 5000);
    const rows = await h.auditRecords();
    const recovered = rows.filter((r) => r.policy.reasons.includes('audit_store_recovered'));
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.detail).toMatchObject({ action: 'audit_store_recovered', reason: 'disk_full' });
    expect((recovered[0]!.detail as { failed_appends: number }).failed_appends).toBeGreaterThanOrEqual(2); // intent, then deny
    expect((await authorize(h, alice, handbook)).body.decision).toBe('allow');
  });
});

describe('the session store down (issue 15, item 3)', () => {
  let h: Harness;
  let db: TestPostgres;
  let alice: string;
  beforeAll(async () => {
    db = await startPostgres();
    // The sessions on PostgreSQL, the trail on SQLite: the refusal's row can be written while PostgreSQL is away.
    h = await startHarness({ configure: (raw) => ({ ...raw, identity: { ...raw.identity, sessions: { ...raw.identity?.sessions, store: db.url } } }) });
    alice = await h.token('alice');
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await db?.stop();
  });

  it('denies with 503 ERR_IDENTITY_SESSION_STORE_UNAVAILABLE (never a 500, nothing allowed), records it under the user, and recovers', async () => {
    const handbook = `${h.workspace}/notes/handbook.md`;
    expect((await authorize(h, alice, handbook)).body.decision).toBe('allow');
    const rowsBefore = (await h.auditRecords()).length;
    await db.pause();
    try {
      // Revocations are answered from memory while the replica listens; it notices the lost listener and reads the table.
      const answers: Array<{ status: number; body: { error?: { code?: string; message?: string }; decision?: string } }> = [];
      for (let i = 0; i < 50 && !answers.some((a) => a.status !== 200); i++) {
        answers.push(await authorize(h, alice, handbook));
        await new Promise((r) => setTimeout(r, 100));
      }
      for (let i = 0; i < 3; i++) answers.push(await authorize(h, alice, handbook));
      const refused = answers.filter((a) => a.status !== 200);
      expect(refused.length).toBeGreaterThanOrEqual(4);
      for (const a of refused) {
        expect(a.status).toBe(503);
        expect(a.body.error?.code).toBe('ERR_IDENTITY_SESSION_STORE_UNAVAILABLE');
        expect(a.body.error?.message).toMatch(/identity\.sessions\.store/); // names the fix
        expect(a.body.error?.message).not.toContain(db.url.split('@')[0]!.split(':')[2]!); // never the password
      }
      expect(answers.slice(answers.indexOf(refused[0]!)).every((a) => a.status === 503)).toBe(true); // once refused, nothing allowed
    } finally {
      await db.resume();
    }
    const rows = (await h.auditRecords()).slice(rowsBefore).filter((r) => r.policy.reasons.includes('session_store_unavailable'));
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const r of rows)
      expect(r).toMatchObject({ event: 'deny', user: { sub: 'alice' }, policy: { decision: 'deny' }, tool: { server: 'filesystem', name: 'read_text_file' } });
    // The pool reconnects by itself once PostgreSQL is back.
    let after = await authorize(h, alice, handbook);
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await authorize(h, alice, handbook);
    }
    expect(after.body.decision).toBe('allow');
  });
});

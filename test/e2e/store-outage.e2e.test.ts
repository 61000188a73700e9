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
 * Issue 15: a store that is down reaches a client as one named 503 (JSON-RPC -32020 on MCP) with
 * Retry-After and the config key to check, never an ERR_INTERNAL or a hang: the session store's
 * PostgreSQL stopped, and stalled (SIGSTOP); the trail's PostgreSQL stopped with the session store up.
 * The session store's SQLite file locked by another process: a back-channel logout waits for the lock
 * on timers while /healthz and other users' calls answer; refused past busyTimeoutMs, it lands once released.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdExclusiveLock } from '../../src/audit/index.test-support.js';
import type { AuditStoreAdmin } from '../../src/audit/index.js';
import { CustosError } from '../../src/kernel/index.js';
import { decodeJwt } from 'jose';
import { EMERGENCY_USERS } from './emergency-users.js';
import { DEV_CLIENT_ID, startHarness } from './harness.js';
import type { Harness, HarnessOptions } from './harness.js';
import { post } from './http.js';
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

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: { error?: { code?: string; message?: string }; decision?: string };
}

function authorize(h: Harness, token: string, path: string): Promise<Answer> {
  return fetch(`${h.custos.url}/v1/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ tool: { server: 'filesystem', name: 'read_text_file' }, arguments: { path }, agent: { name: 'outage-test' } }),
  }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as Answer['body'] }));
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'outage-test', version: '1' } },
};

/** One MCP POST as a client sends it, the answer as it came (status, Retry-After, the body's JSON-RPC error or HTTP error). */
async function mcpPost(
  h: Harness,
  token: string,
  body: unknown,
  session?: string,
): Promise<Answer & { session?: string; rpc?: { code: number; data?: { code?: string } } }> {
  const r = await fetch(h.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      authorization: `Bearer ${token}`,
      ...(session ? { 'mcp-session-id': session } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}');
  const parsed = JSON.parse(json) as Answer['body'] & { error?: { code?: unknown; data?: { code?: string } } };
  const rpc = typeof parsed.error?.code === 'number' ? (parsed.error as { code: number; data?: { code?: string } }) : undefined;
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: parsed, rpc, session: r.headers.get('mcp-session-id') ?? undefined };
}

async function openMcpSession(h: Harness, token: string): Promise<string> {
  const opened = await mcpPost(h, token, INITIALIZE);
  expect(opened.status).toBe(200);
  await mcpPost(h, token, { jsonrpc: '2.0', method: 'notifications/initialized' }, opened.session);
  return opened.session!;
}

const readCall = (path: string, id = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'filesystem__read_text_file', arguments: { path } } });

/** A harness whose stores `options` puts on a fresh PostgreSQL, for the describe block it is called in. */
function harnessOnPostgres(options: (url: string) => HarnessOptions): { readonly h: Harness; readonly db: TestPostgres; readonly password: string } {
  const suite = {} as { h: Harness; db: TestPostgres; password: string };
  beforeAll(async () => {
    suite.db = await startPostgres();
    suite.password = suite.db.url.split('@')[0]!.split(':')[2]!; // never in an answer
    suite.h = await startHarness(options(suite.db.url));
  }, 120_000);
  afterAll(async () => {
    suite.db?.thaw(); // a stalled server goes on, so it can be stopped
    await suite.h?.close();
    await suite.db?.stop();
  });
  return suite;
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
            (e: McpError) => ({ ok: false, text: `${e.code} ${JSON.stringify(e.data)} ${e.message}` }),
          ),
        );
      const calls = [];
      for (let wave = 0; wave < 3; wave++) {
        const [mcp, api] = await Promise.all([
          Promise.all([mcpCall(), mcpCall()]),
          Promise.all([1, 2, 3].map(() => timed(() => authorize(h, alice, handbook)))),
        ]);
        // The one clear error at each door: JSON-RPC -32020 with data.code ERR_AUDIT_UNAVAILABLE; HTTP 503 with it and Retry-After.
        calls.push(...mcp.map((c) => ({ ms: c.ms, endedAt: c.endedAt, denied: !c.value.ok && /^-32020 \{"code":"ERR_AUDIT_UNAVAILABLE"/.test(c.value.text) })));
        calls.push(
          ...api.map((c) => ({
            ms: c.ms,
            endedAt: c.endedAt,
            denied: c.value.status === 503 && c.value.body.error?.code === 'ERR_AUDIT_UNAVAILABLE' && c.value.retryAfter === '2',
          })),
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

describe('the session store locked by another process (degrade, do not freeze)', () => {
  const WAIT_MS = 1500; // audit.busyTimeoutMs, which the session store's writes wait for a lock
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      busyTimeoutMs: WAIT_MS,
      backchannelLogout: true,
      configure: (raw) => ({ ...raw, identity: { ...raw.identity, issuers: raw.identity.issuers.map((i) => ({ ...i, backchannelClientId: DEV_CLIENT_ID })) } }),
    });
  });
  afterAll(async () => h?.close());

  it("a back-channel logout waits for the lock while /healthz and other users' calls answer promptly; it is refused past busyTimeoutMs and lands once the lock is released", async () => {
    const sessionsFile = h.storeFile.replace(/\.sqlite$/, '.sessions.sqlite');
    const [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
    const handbook = `${h.workspace}/notes/handbook.md`;
    expect((await authorize(h, bob, handbook)).body).toMatchObject({ decision: 'allow' }); // warm
    const sidOf = (token: string): string => String(decodeJwt(token).sid);

    // Held past the deadline: refused (the store's 503), and the event loop was free meanwhile.
    let lock = await holdExclusiveLock(sessionsFile, 10_000);
    try {
      const logout = timed(() =>
        h.idp.backchannelLogout('alice', sidOf(alice)).then(
          () => 'accepted',
          () => 'refused',
        ),
      );
      await new Promise((r) => setTimeout(r, 50));
      const health = [];
      for (let i = 0; i < 10; i++) health.push(await timed(() => fetch(`${h.custos.url}/healthz`).then((r) => r.status)));
      const other = await timed(() => authorize(h, bob, handbook)); // reads only: WAL readers do not wait for the lock
      const refused = await logout;
      expect(refused.value).toBe('refused');
      expect(refused.ms).toBeGreaterThanOrEqual(WAIT_MS - 50);
      expect(health.every((p) => p.value === 200 && p.endedAt < refused.endedAt)).toBe(true);
      expect(Math.max(...health.map((p) => p.ms))).toBeLessThan(WAIT_MS / 3); // before: /healthz waited out the whole lock wait
      expect(other.value.body).toMatchObject({ decision: 'allow' });
      expect(other.endedAt).toBeLessThan(refused.endedAt);
    } finally {
      await lock.release();
    }
    expect((await authorize(h, alice, handbook)).body).toMatchObject({ decision: 'allow' }); // nothing revoked

    // Released while it waits: the logout lands, and alice's session is revoked.
    lock = await holdExclusiveLock(sessionsFile, 10_000);
    const logout = timed(() =>
      h.idp.backchannelLogout('alice', sidOf(alice)).then(
        () => 'accepted',
        () => 'refused',
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    await lock.release();
    const landed = await logout;
    expect(landed.value).toBe('accepted');
    expect(landed.ms).toBeLessThan(WAIT_MS);
    expect((await authorize(h, alice, handbook)).body).toMatchObject({ error: { code: 'ERR_IDENTITY_SESSION_REVOKED' } });
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
    const client = await h.connect(alice);
    expect((await readyz(h)).status).toBe(200);
    full = true;
    try {
      // reads still work, so the old read-based check said ready here
      const denied = await authorize(h, alice, handbook);
      expect(denied.status).toBe(503);
      expect(denied.retryAfter).toBe('2');
      expect(denied.body.error?.code).toBe('ERR_AUDIT_UNAVAILABLE');
      expect(denied.body.error?.message).toMatch(/audit\.store/);
      // The MCP door: the same denial as a JSON-RPC error, nothing of the tool's output.
      const refused = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } }).then(
        (r) => ({ answered: JSON.stringify(r) }),
        (e: McpError) => e,
      );
      expect(refused).toBeInstanceOf(McpError);
      expect(refused).toMatchObject({ code: -32020, data: { code: 'ERR_AUDIT_UNAVAILABLE' } });
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
  // The sessions on PostgreSQL, the trail on SQLite: the refusal's row can be written while PostgreSQL is away.
  const suite = harnessOnPostgres((url) => ({
    backchannelLogout: true,
    configure: (raw) => ({
      ...raw,
      identity: {
        ...raw.identity,
        issuers: raw.identity.issuers.map((i) => ({ ...i, backchannelClientId: DEV_CLIENT_ID })),
        sessions: { ...raw.identity?.sessions, store: url },
      },
    }),
  }));

  it('denies with 503 ERR_IDENTITY_SESSION_STORE_UNAVAILABLE at both doors (never a 500, nothing allowed), records it under the user, is not ready, and recovers', async () => {
    const { h, db, password } = suite;
    const handbook = `${h.workspace}/notes/handbook.md`;
    const alice = await h.token('alice');
    expect((await authorize(h, alice, handbook)).body.decision).toBe('allow');
    const session = await openMcpSession(h, alice);
    expect((await mcpPost(h, alice, readCall(handbook), session)).rpc).toBeUndefined();
    const rowsBefore = (await h.auditRecords()).length;
    const before = h.upstreamCalls().length;
    await db.pause();
    try {
      // Revocations are answered from memory while the replica listens; it notices the lost listener and reads the table.
      const answers: Answer[] = [];
      for (let i = 0; i < 50 && !answers.some((a) => a.status !== 200); i++) {
        answers.push(await authorize(h, alice, handbook));
        await new Promise((r) => setTimeout(r, 100));
      }
      for (let i = 0; i < 3; i++) answers.push(await authorize(h, alice, handbook));
      // The MCP door: a call on the open session, and a new session, refused the same way.
      const mcp = [await mcpPost(h, alice, readCall(handbook, 2), session), await mcpPost(h, alice, INITIALIZE)];
      const refused = answers.filter((a) => a.status !== 200);
      expect(refused.length).toBeGreaterThanOrEqual(4);
      for (const a of [...refused, ...mcp]) {
        expect(a.status, JSON.stringify(a.body)).toBe(503);
        expect(a.retryAfter).toBe('2');
        expect(a.body.error?.code).toBe('ERR_IDENTITY_SESSION_STORE_UNAVAILABLE');
        expect(a.body.error?.message).toMatch(/identity\.sessions\.store/); // names the fix
        expect(JSON.stringify(a.body)).not.toContain(password); // never the password
      }
      expect(answers.slice(answers.indexOf(refused[0]!)).every((a) => a.status === 503)).toBe(true); // once refused, nothing allowed
      // Readiness tells the truth, and the IdP's back-channel logout is asked to come again (not told its token is bad).
      const ready = await readyz(h);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'not_ready', reasons: ['sessions_unreachable'], checks: { audit: 'ok', sessions: 'failing' } });
      await expect(h.idp.backchannelLogout('alice', String(decodeJwt(alice).sid))).rejects.toThrow(/503/);
    } finally {
      await db.resume();
    }
    expect(h.upstreamCalls().slice(before)).toEqual([]); // nothing reached the tool during the outage
    const rows = (await h.auditRecords()).slice(rowsBefore).filter((r) => r.policy.reasons.includes('session_store_unavailable'));
    // Each refused tool call (four or more at the decision API, one at the MCP door) is a deny row under alice; the refused initialize an alert row.
    const denies = rows.filter((r) => r.event === 'deny');
    expect(denies.length).toBeGreaterThanOrEqual(5);
    for (const r of denies)
      expect(r).toMatchObject({ user: { sub: 'alice' }, policy: { decision: 'deny' }, tool: { server: 'filesystem', name: 'read_text_file' } });
    expect(rows.filter((r) => r.event === 'alert')).toMatchObject([{ user: { sub: 'alice' }, alert: { type: 'session_store_unavailable' } }]);
    // The pool reconnects by itself once PostgreSQL is back: ready again, both doors serve, no restart.
    await waitForReady(h, 10_000);
    let after = await authorize(h, alice, handbook);
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await authorize(h, alice, handbook);
    }
    expect(after.body.decision).toBe('allow');
    const again = await mcpPost(h, alice, readCall(handbook, 3), session);
    expect(again.status).toBe(200);
    expect(again.rpc).toBeUndefined();
  });
});

describe('the session store stalled (issue 15: degrade, do not freeze)', () => {
  const suite = harnessOnPostgres((url) => ({
    users: EMERGENCY_USERS,
    configure: (raw) => ({ ...raw, identity: { ...raw.identity, sessions: { ...raw.identity?.sessions, store: url } } }),
  }));

  it('PostgreSQL stopped mid-answer (SIGSTOP): every request is answered within a bounded wait, never hangs; /readyz names the timeout; served again once it goes on', async () => {
    const { h, db } = suite;
    const handbook = `${h.workspace}/notes/handbook.md`;
    const [alice, dana] = await Promise.all([h.token('alice'), h.token('dana')]);
    const session = await openMcpSession(h, alice);
    expect((await authorize(h, alice, handbook)).body.decision).toBe('allow');
    /** The answer, or 'hung' past 10 s (the wait on the store is max(busyTimeoutMs, 1 s) per query). */
    const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    db.freeze();
    try {
      const [decision, call, grant, ready] = await Promise.all([
        within(authorize(h, alice, handbook)),
        within(mcpPost(h, alice, readCall(handbook), session)),
        within(post(`${h.custos.url}/v1/emergency/grants`, dana, { reason: 'Unconscious patient in ED' })),
        within(readyz(h)),
      ]);
      // Revocations are known from memory while the replica listens (a stalled server cannot say so); a break-glass
      // lookup that times out is no grant. So a call is decided by the policy alone, or refused if the store was needed.
      for (const answer of [decision, call]) {
        expect(answer).not.toBe('hung');
        const a = answer as Answer & { rpc?: unknown };
        if (a.status !== 200) expect(a).toMatchObject({ status: 503, body: { error: { code: 'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE' } } });
      }
      expect(grant).toMatchObject({ status: 503, body: { error: { code: 'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE' } } }); // no grant written, none given
      // The probe's 1 s deadline and the pool's query timeout (here max(250 ms, 1 s)) race: either names the stall.
      expect(ready).toMatchObject({ status: 503, body: { checks: { sessions: 'failing' } } });
      expect([['sessions_timeout'], ['sessions_unreachable']]).toContainEqual((ready as Awaited<ReturnType<typeof readyz>>).body.reasons);
    } finally {
      db.thaw();
    }
    await waitForReady(h, 10_000);
    expect((await authorize(h, alice, handbook)).body.decision).toBe('allow');
    const reviews = await post(`${h.custos.url}/v1/emergency/grants`, dana, { reason: 'Unconscious patient in ED' });
    expect(reviews.status).toBe(201); // the store serves writes again
  });
});

describe("the trail's PostgreSQL down, the session store up (issue 15)", () => {
  const suite = harnessOnPostgres((url) => ({
    users: EMERGENCY_USERS,
    configure: (raw) => ({
      ...raw,
      audit: { ...raw.audit, store: url },
      identity: {
        ...raw.identity,
        sessions: { ...raw.identity?.sessions, store: `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'custos-sessions-')), 'sessions.sqlite')}` },
      },
    }),
  }));

  it('denies at both doors and refuses a trail search with 503 ERR_AUDIT_UNAVAILABLE naming audit.store (never a 500), is not ready, and recovers', async () => {
    const { h, db, password } = suite;
    const handbook = `${h.workspace}/notes/handbook.md`;
    const [alice, carol] = await Promise.all([h.token('alice'), h.token('carol')]);
    const session = await openMcpSession(h, alice);
    const search = async (): Promise<Answer> => {
      const r = await fetch(`${h.custos.url}/v1/audit?limit=3`, { headers: { authorization: `Bearer ${carol}` } });
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as Answer['body'] };
    };
    expect((await search()).status).toBe(200);
    await db.pause();
    try {
      const [decision, call, found] = await Promise.all([authorize(h, alice, handbook), mcpPost(h, alice, readCall(handbook), session), search()]);
      for (const a of [decision, found]) {
        expect(a.status, JSON.stringify(a.body)).toBe(503);
        expect(a.retryAfter).toBe('2');
        expect(a.body.error?.code).toBe('ERR_AUDIT_UNAVAILABLE');
        expect(a.body.error?.message).toMatch(/audit\.store/);
        expect(JSON.stringify(a.body)).not.toContain(password);
      }
      expect(call.rpc).toMatchObject({ code: -32020, data: { code: 'ERR_AUDIT_UNAVAILABLE' } });
      const ready = await readyz(h);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'not_ready', checks: { audit: 'failing', sessions: 'ok' } });
    } finally {
      await db.resume();
    }
    await waitForReady(h, 15_000);
    expect((await search()).status).toBe(200);
    expect((await authorize(h, alice, handbook)).body.decision).toBe('allow');
  });
});

import { describe, expect, it } from 'vitest';
import { createFakePolicy, createSilentLogger, createTestPipeline } from '../fakes.test-support.js';
import { createAuthFailureLog } from './auth-failure-log.js';

const WINDOW = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function setup(maxSources = 100) {
  const { pipeline, audit } = createTestPipeline(createFakePolicy());
  let t = T0;
  const log = createAuthFailureLog({ pipeline, logger: createSilentLogger(), windowMs: WINDOW, maxSources, now: () => t });
  return { log, audit, advance: (ms: number) => (t += ms) };
}

const missing = (source: string, limited = false) => ({ source, code: 'ERR_IDENTITY_TOKEN_MISSING', limited });

describe('auth failures recorded in aggregate', () => {
  it('writes the first failure at once and the rest as one row with a count when the window ends', async () => {
    const { log, audit, advance } = setup();
    for (let i = 0; i < 5000; i += 1) await log.record(missing('203.0.113.9', i >= 20));
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({
      event: 'auth_failure',
      user: { sub: null, anonymous: true },
      policy: { reasons: ['ERR_IDENTITY_TOKEN_MISSING'] },
      detail: { source: '203.0.113.9' },
    });

    advance(WINDOW - 1);
    await log.flushDue();
    expect(audit.rows).toHaveLength(1);
    advance(1);
    await log.flushDue();
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[1]).toMatchObject({
      event: 'auth_failure',
      policy: { decision: 'deny', reasons: ['ERR_IDENTITY_TOKEN_MISSING'] },
      detail: {
        source: '203.0.113.9',
        aggregate: {
          count: 4999,
          rate_limited: 4980,
          reasons: { ERR_IDENTITY_TOKEN_MISSING: 4999 },
          window_start: '2026-01-01T00:00:00.000Z',
          window_end: '2026-01-01T00:01:00.000Z',
        },
      },
    });
    await log.flushDue();
    expect(audit.rows).toHaveLength(2);

    // A new window starts over with one row at once.
    await log.record(missing('203.0.113.9'));
    expect(audit.rows).toHaveLength(3);
  });

  it('writes the first failure of each reason at once, so a forged token is not hidden behind missing ones', async () => {
    const { log, audit } = setup();
    await log.record(missing('a'));
    await log.record(missing('a'));
    await log.record({ source: 'a', code: 'ERR_IDENTITY_SIGNATURE_INVALID', limited: false, kind: 'tool', traceId: '0af7651916cd43dd8448eb211c80319c' });
    await log.record({ source: 'a', code: 'ERR_IDENTITY_SIGNATURE_INVALID', limited: false });
    expect(audit.rows.map((r) => r.policy.reasons)).toEqual([['ERR_IDENTITY_TOKEN_MISSING'], ['ERR_IDENTITY_SIGNATURE_INVALID']]);
    expect(audit.rows[1]).toMatchObject({ kind: 'tool', trace_id: '0af7651916cd43dd8448eb211c80319c' });
    await log.close();
    expect(audit.rows[2]).toMatchObject({
      policy: { reasons: ['ERR_IDENTITY_SIGNATURE_INVALID', 'ERR_IDENTITY_TOKEN_MISSING'] },
      detail: { source: 'a', aggregate: { count: 2, rate_limited: 0, reasons: { ERR_IDENTITY_SIGNATURE_INVALID: 1, ERR_IDENTITY_TOKEN_MISSING: 1 } } },
    });
  });

  it('never writes a rate-limited failure on its own', async () => {
    const { log, audit } = setup();
    await log.record(missing('a', true));
    expect(audit.rows).toHaveLength(0);
    await log.close();
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]!.detail).toMatchObject({ aggregate: { count: 1, rate_limited: 1 } });
  });

  it('bounds the rows of a window: sources past maxSources are counted under *', async () => {
    const { log, audit, advance } = setup(3);
    for (let i = 0; i < 1000; i += 1) for (let j = 0; j < 3; j += 1) await log.record(missing(`198.51.100.${i % 250}.${i}`));
    // 3 sources plus the overflow: one row at once each, one aggregate each at the window end.
    expect(audit.rows).toHaveLength(4);
    advance(WINDOW);
    await log.flushDue();
    expect(audit.rows).toHaveLength(8);
    const overflow = audit.rows.find((r) => r.detail?.source === '*' && r.detail.aggregate !== undefined);
    expect(overflow?.detail).toMatchObject({ aggregate: { count: 997 * 3 - 1 } });
    const counted = audit.rows.reduce((n, r) => n + ((r.detail?.aggregate as { count?: number } | undefined)?.count ?? 1), 0);
    expect(counted).toBe(3000);
  });

  it('loses nothing: writes pending counts on close, and failures after close one row each', async () => {
    const { log, audit } = setup();
    await log.record(missing('a'));
    await log.record(missing('a'));
    await log.close();
    expect(audit.rows.map((r) => (r.detail?.aggregate as { count?: number } | undefined)?.count ?? 1)).toEqual([1, 1]);
    await log.record(missing('a'));
    await log.record(missing('a'));
    expect(audit.rows).toHaveLength(4);
  });

  it('keeps the counts when the store cannot write, and writes them once it can', async () => {
    const { log, audit, advance } = setup();
    audit.failing = true;
    await log.record(missing('a')); // the immediate row fails: the failure joins the count
    await log.record(missing('a'));
    advance(WINDOW);
    await log.flushDue();
    expect(audit.rows).toHaveLength(0);
    audit.failing = false;
    await log.flushDue();
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]!.detail).toMatchObject({ source: 'a', aggregate: { count: 2 } });
  });
});

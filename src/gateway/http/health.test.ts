import { describe, expect, it } from 'vitest';
import type { PolicySource, UpstreamPool } from '../../kernel/index.js';
import { checkReadiness } from './health.js';

const policy = { current: () => ({}) } as unknown as PolicySource;
const upstreams = { status: () => [] } as unknown as UpstreamPool;

describe('readiness: SIEM sinks and anchors', () => {
  it('reports each sink’s lag and last error without gating readiness: a SIEM that is down costs lag, never calls', async () => {
    const failing = {
      name: 'siem',
      type: 'webhook',
      state: 'retrying',
      lag: 42,
      failures: 3,
      last_error: { code: 'ERR_EXPORT_DELIVERY_FAILED', reason: 'unreachable', at: '2026-01-01T00:00:00.000Z' },
    };
    const ready = await checkReadiness({ audit: () => ({ state: 'ok' }), sinks: async () => [failing] }, policy, upstreams);
    expect(ready.status).toBe('ready');
    expect(ready.reasons).toEqual([]);
    expect(ready.checks.sinks).toEqual([failing]);
  });

  it('a sink status that cannot be read is reported as no sinks, and readiness still answers', async () => {
    const ready = await checkReadiness({ sinks: () => Promise.reject(new Error('cursor dir gone')) }, policy, upstreams);
    expect(ready).toMatchObject({ status: 'ready', checks: { sinks: [] } });
  });
});

describe('readiness: the session store', () => {
  it('is not ready while the session store does not answer, naming it, and ready again once it does', async () => {
    let answer: { state: 'ok' | 'failing'; reason?: string } = { state: 'failing', reason: 'unreachable' };
    const checks = { audit: () => ({ state: 'ok' as const }), sessions: async () => answer };
    expect(await checkReadiness(checks, policy, upstreams)).toMatchObject({
      status: 'not_ready',
      reasons: ['sessions_unreachable'],
      checks: { audit: 'ok', sessions: 'failing' },
    });
    answer = { state: 'ok' };
    expect(await checkReadiness(checks, policy, upstreams)).toMatchObject({ status: 'ready', reasons: [], checks: { sessions: 'ok' } });
  });

  it('a check that throws is failing, not a 500', async () => {
    const ready = await checkReadiness({ sessions: () => Promise.reject(new Error('bug')) }, policy, upstreams);
    expect(ready).toMatchObject({ status: 'not_ready', reasons: ['sessions_check_failed'], checks: { sessions: 'failing' } });
  });

  it('without a session store the check is reported unchecked and does not gate', async () => {
    expect(await checkReadiness({}, policy, upstreams)).toMatchObject({ status: 'ready', checks: { sessions: 'unchecked' } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakePolicy, createTestPipeline, fakeGatewayDeps } from '../fakes.test-support.js';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import type { MonitorAdminPort } from '../types.js';

describe('the monitor routes refuse a caller without the role', () => {
  const { pipeline, audit } = createTestPipeline(createFakePolicy());
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const called: string[] = [];
  // The fake verifier gives alice the role `admin`, bob none.
  const monitor: MonitorAdminPort = {
    roles: ['admin'],
    alerts: () => (called.push('alerts'), []),
    acknowledge: async () => called.push('acknowledge'),
    inventory: () => (called.push('inventory'), {}),
    approveTool: async () => called.push('approveTool'),
    kills: () => (called.push('kills'), []),
    setKill: async () => called.push('setKill'),
    liftKill: async () => called.push('liftKill'),
  };
  let server: GatewayServer;
  beforeAll(async () => {
    server = await startGatewayServer(createGateway(fakeGatewayDeps(pipeline, createFakePolicy(), { monitor })), { host: '127.0.0.1', port: 0 });
  });
  afterAll(() => server?.close());

  const send = (method: string, route: string, token: string, body?: unknown) =>
    fetch(`${server.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${TRACE}-b7ad6b7169203331-01`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it('a read: 403, nothing read, and a deny row with the user, the view and the trace id', async () => {
    for (const [route, view] of [
      ['/v1/alerts', 'alerts'],
      ['/v1/inventory', 'inventory'],
      ['/v1/admin/kill-switches', 'kill_switches'],
    ] as const) {
      const res = await send('GET', route, 'bob');
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_NOT_ENTITLED');
      expect(audit.rows.at(-1)).toMatchObject({
        event: 'admin',
        user: { sub: 'bob' },
        policy: { decision: 'deny' },
        trace_id: TRACE,
        detail: { action: 'monitor_read_refused', view, code: 'ERR_IDENTITY_NOT_ENTITLED' },
      });
    }
    expect(called).toEqual([]);
    expect((await send('GET', '/v1/alerts', 'alice')).status).toBe(200);
    expect(called).toEqual(['alerts']);
  });

  it('a change: 403, nothing done, and a deny row with the user, the target and the trace id', async () => {
    const res = await send('POST', '/v1/admin/kill-switches', 'bob', { target: 'agent:good-agent', reason: 'not my call' });
    expect(res.status).toBe(403);
    expect(audit.rows.at(-1)).toMatchObject({
      event: 'admin',
      user: { sub: 'bob' },
      policy: { decision: 'deny' },
      trace_id: TRACE,
      detail: { action: 'monitor_admin_refused', attempted: 'kill_switch_set', target: 'agent:good-agent', code: 'ERR_IDENTITY_NOT_ENTITLED' },
    });
    expect(called).not.toContain('setKill');
  });
});

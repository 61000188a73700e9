import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolCall } from '../kernel/index.js';
import { createCallTracer } from './tracing.js';

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: { stringValue?: string } }>;
  status?: { code?: number };
}

const call = (traceId?: string): ToolCall => ({
  requestId: 'req-1',
  kind: 'tool',
  tool: { server: 'filesystem', name: 'read_text_file' },
  arguments: {},
  principal: null,
  agent: { name: 'claude-desktop', tier: 'interactive', delegationChain: [] },
  ...(traceId ? { traceId } : {}),
});

describe('the call tracer (spans built and exported by its own thread)', () => {
  const spans: OtlpSpan[] = [];
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const request = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('exports the call span with the ids its traceparent named and a child span per stage; a caller trace is joined', async () => {
    const tracer = createCallTracer({ endpoint: url, serviceName: 'custos-test' });
    const own = tracer.begin(call());
    own.stage('identity', 10, 11);
    own.stage('policy', 11, 12.5, true);
    own.end({ decision: 'allow', reasons: ['permit'], bundleHash: 'h', determiningPolicies: [] });
    const joined = tracer.begin(call('4bf92f3577b34da6a3ce929d0e0e4736'));
    joined.stage('identity', 20, 21);
    joined.end(undefined);
    await tracer.close(); // exports what is buffered

    const [, traceId, spanId] = own.traceparent.split('-');
    expect(own.traceId).toBe(traceId);
    const root = spans.find((s) => s.spanId === spanId)!;
    expect(root).toMatchObject({ name: 'execute_tool read_text_file', traceId });
    expect(root.parentSpanId ?? '').toBe('');
    expect(root.attributes).toContainEqual({ key: 'gen_ai.operation.name', value: { stringValue: 'execute_tool' } });
    expect(root.attributes).toContainEqual({ key: 'custos.decision', value: { stringValue: 'allow' } });
    const children = spans.filter((s) => s.parentSpanId === spanId);
    expect(children.map((s) => s.name).sort()).toEqual(['identity', 'policy']);
    expect(children.find((s) => s.name === 'policy')!.status?.code).toBe(2); // ERROR
    const identity = children.find((s) => s.name === 'identity')!;
    expect(BigInt(identity.endTimeUnixNano) - BigInt(identity.startTimeUnixNano)).toBe(1_000_000n);

    expect(joined.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const joinedRoot = spans.find((s) => s.spanId === joined.traceparent.split('-')[2])!;
    expect(joinedRoot.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(joinedRoot.parentSpanId).toMatch(/^[0-9a-f]{16}$/); // the caller's (remote) span
    expect(joinedRoot.status?.code).toBe(2); // the call failed
  });

  it('a receiver that is gone fails no call, and closing still ends', async () => {
    const tracer = createCallTracer({ endpoint: 'http://127.0.0.1:1/v1/traces', serviceName: 'custos-test' });
    for (let i = 0; i < 300; i++) {
      const o = tracer.begin(call());
      o.stage('identity', 1, 2);
      expect(() => o.end(undefined)).not.toThrow();
    }
    await expect(tracer.close()).resolves.toBeUndefined();
  });
});

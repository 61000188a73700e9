/**
 * Each sink against a local receiver that speaks its protocol: the receiver is down for the
 * first part of the run and up later; every row arrives, none missing, in seq order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryAudit, makeEntry, makeTempDir } from '../audit/index.test-support.js';
import type { TempDir } from '../audit/index.test-support.js';
import { createFileCursorStore } from './cursor.js';
import {
  makeCertificate,
  reservePort,
  startHecReceiver,
  startOtlpReceiver,
  startRsyslog,
  startSyslogReceiver,
  startWebhookReceiver,
} from './receivers.test-support.js';
import path from 'node:path';
import type { Receiver } from './receivers.test-support.js';
import { createSinkRunner } from './runner.js';
import { createSink } from './service.js';
import type { SinkSettings } from './types.js';
import { frameOctetCounted, toSyslogMessage } from './sinks/syslog-sink.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs the sink while the receiver is down (rows keep coming), then brings the receiver up. */
async function downThenUp(settings: SinkSettings, startReceiver: () => Promise<Receiver>): Promise<{ receiver: Receiver; reasons: string[] }> {
  const dir: TempDir = makeTempDir();
  cleanups.push(() => dir.remove());
  const store = createMemoryAudit();
  for (let i = 1; i <= 10; i += 1) await store.append(makeEntry(i));
  const runner = createSinkRunner({
    sink: createSink(settings),
    store,
    cursors: createFileCursorStore(dir.path),
    batchSize: settings.batchSize,
    pollMs: 10,
    retry: { minMs: 10, maxMs: 50 },
  });
  runner.start();
  cleanups.push(() => runner.stop());
  const reasons: string[] = [];
  await waitFor(async () => {
    const s = await runner.status();
    if (s.last_error) reasons.push(s.last_error.reason);
    return s.failures >= 3;
  });
  expect((await runner.status()).cursor).toBe(0);
  for (let i = 11; i <= 25; i += 1) await store.append(makeEntry(i));
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  await waitFor(async () => (await runner.status()).cursor === 25);
  expect(await runner.status()).toMatchObject({ lag: 0, failures: 0 });
  return { receiver, reasons };
}

const ALL = Array.from({ length: 25 }, (_, i) => i + 1);
const common = { format: 'jsonl' as const, batchSize: 4, timeoutMs: 2000 };

describe('sinks against local receivers, down then up', () => {
  it('webhook: HMAC-signed batches, every row in seq order', async () => {
    const port = await reservePort();
    const { receiver, reasons } = await downThenUp(
      { ...common, type: 'webhook', name: 'hook', url: `http://127.0.0.1:${port}/custos`, secret: 'test-hmac-key' },
      () => startWebhookReceiver(port, 'test-hmac-key'),
    );
    expect(reasons).toContain('unreachable');
    expect(receiver.seqs).toEqual(ALL);
    expect(receiver.refused).toEqual([]);
  });

  it('webhook: a receiver holding another key refuses every batch and the cursor stays put', async () => {
    const port = await reservePort();
    const receiver = await startWebhookReceiver(port, 'the-right-key');
    cleanups.push(() => receiver.close());
    const store = createMemoryAudit();
    await store.append(makeEntry(1));
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const runner = createSinkRunner({
      sink: createSink({ ...common, type: 'webhook', name: 'hook', url: `http://127.0.0.1:${port}/`, secret: 'a-wrong-key' }),
      store,
      cursors: createFileCursorStore(dir.path),
      batchSize: 4,
    });
    await expect(runner.runOnce()).rejects.toThrow();
    expect(await runner.status()).toMatchObject({ cursor: 0, lag: 1, failures: 1, last_error: { code: 'ERR_EXPORT_DELIVERY_FAILED', reason: 'http_401' } });
    expect(receiver.seqs).toEqual([]);
  });

  it('Splunk HEC: token, endpoint and event envelope; every row in seq order', async () => {
    const port = await reservePort();
    const { receiver } = await downThenUp(
      { ...common, type: 'splunk_hec', name: 'splunk', url: `http://127.0.0.1:${port}`, token: 'hec-token', sourcetype: 'custos:audit', source: 'custos' },
      () => startHecReceiver(port, 'hec-token'),
    );
    expect(receiver.seqs).toEqual(ALL);
    expect(receiver.refused).toEqual([]);
  });

  it('Splunk HEC: an invalid token is a failure (http_403), not an acknowledgement', async () => {
    const port = await reservePort();
    const receiver = await startHecReceiver(port, 'right');
    cleanups.push(() => receiver.close());
    const sink = createSink({
      ...common,
      type: 'splunk_hec',
      name: 'splunk',
      url: `http://127.0.0.1:${port}/`,
      token: 'wrong',
      sourcetype: 'custos:audit',
      source: 'custos',
    });
    const store = createMemoryAudit();
    await expect(sink.deliver([await store.append(makeEntry(1))])).rejects.toMatchObject({ detail: { reason: 'http_403' } });
  });

  it('OTLP/HTTP logs (JSON): every row in seq order', async () => {
    const port = await reservePort();
    const { receiver } = await downThenUp(
      { ...common, type: 'otlp', name: 'otel', url: `http://127.0.0.1:${port}/v1/logs`, headers: {}, serviceName: 'custos' },
      () => startOtlpReceiver(port),
    );
    expect(receiver.seqs).toEqual(ALL);
    expect(receiver.refused).toEqual([]);
  });

  it('syslog RFC 5424 over TCP, octet-counted: every row in seq order', async () => {
    const port = await reservePort();
    const { receiver } = await downThenUp(
      { ...common, type: 'syslog', name: 'syslog', host: '127.0.0.1', port, appName: 'custos', facility: 13, hostname: 'custos-test' },
      () => startSyslogReceiver(port),
    );
    await waitFor(() => receiver.seqs.length >= 25);
    expect(receiver.seqs).toEqual(ALL);
    expect(receiver.refused).toEqual([]);
  });

  it('syslog over TLS: verifies the receiver against the configured CA; every row in seq order', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const credentials = makeCertificate(dir.path);
    const port = await reservePort();
    const { receiver } = await downThenUp(
      {
        ...common,
        type: 'syslog',
        name: 'syslog-tls',
        host: '127.0.0.1',
        port,
        tls: { ca: credentials.cert },
        appName: 'custos',
        facility: 13,
        hostname: 'custos-test',
      },
      () => startSyslogReceiver(port, credentials),
    );
    await waitFor(() => receiver.seqs.length >= 25);
    expect(receiver.seqs).toEqual(ALL);
  });

  it('syslog over TLS: a receiver whose certificate the CA did not sign is refused (tls_failed)', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const server = makeCertificate(dir.path);
    const port = await reservePort();
    const receiver = await startSyslogReceiver(port, server);
    cleanups.push(() => receiver.close());
    const other = makeTempDir();
    cleanups.push(() => other.remove());
    const sink = createSink({
      ...common,
      type: 'syslog',
      name: 's',
      host: '127.0.0.1',
      port,
      tls: { ca: makeCertificate(other.path).cert },
      appName: 'custos',
      facility: 13,
      hostname: 'h',
    });
    cleanups.push(() => sink.close());
    await expect(sink.deliver([await createMemoryAudit().append(makeEntry(1))])).rejects.toMatchObject({ detail: { reason: 'tls_failed' } });
    expect(receiver.seqs).toEqual([]);
  });

  it("Debian's rsyslogd over TCP, started by the test: every row in seq order, as rsyslog wrote them", async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const port = await reservePort();
    const { receiver } = await downThenUp(
      { ...common, type: 'syslog', name: 'rsyslog', host: '127.0.0.1', port, appName: 'custos', facility: 13, hostname: 'custos-test' },
      () => startRsyslog(port, dir.path),
    );
    await waitFor(() => receiver.seqs.length >= 25);
    expect(receiver.seqs).toEqual(ALL);
    expect(receiver.refused).toEqual([]);
  });

  it("Debian's rsyslogd over TLS (gtls), its certificate verified against the CA: every row in seq order", async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const credentials = makeCertificate(dir.path);
    const port = await reservePort();
    const files = { key: path.join(dir.path, 'key.pem'), cert: path.join(dir.path, 'cert.pem') };
    const { receiver } = await downThenUp(
      {
        ...common,
        type: 'syslog',
        name: 'rsyslog-tls',
        host: '127.0.0.1',
        port,
        tls: { ca: credentials.cert },
        appName: 'custos',
        facility: 13,
        hostname: 'custos-test',
      },
      () => startRsyslog(port, dir.path, files),
    );
    await waitFor(() => receiver.seqs.length >= 25);
    expect(receiver.seqs).toEqual(ALL);
    expect(receiver.refused).toEqual([]);
  });

  it('syslog message: PRI, version, header fields, escaped structured data, byte-counted frame', async () => {
    const record = await createMemoryAudit().append(
      makeEntry(1, { request_id: 'a"b]c\\d', event: 'deny', policy: { decision: 'deny', bundle_hash: 'x', determining_policies: [], reasons: [] } }),
    );
    const message = toSyslogMessage(record, { facility: 13, hostname: 'host name', appName: 'custos', format: 'jsonl' });
    expect(message.startsWith(`<108>1 ${record.time} hostname custos - deny [custos@32473 seq="1" request_id="a\\"b\\]c\\\\d" hash="${record.hash}"] {`)).toBe(
      true,
    );
    const withUnicode = `${message}é`;
    expect(frameOctetCounted(withUnicode)).toBe(`${Buffer.byteLength(withUnicode)} ${withUnicode}`);
    expect(Buffer.byteLength(withUnicode)).toBe(withUnicode.length + 1);
  });
});

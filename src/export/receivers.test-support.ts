/**
 * Test support (never in dist/): local receivers that speak each sink's protocol, on
 * 127.0.0.1. Each can be started on a port reserved while it was down, so a test runs the
 * sink against a receiver that is down first and up later.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

/** A free port on 127.0.0.1 with nothing listening on it (yet). */
export async function reservePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Receiver {
  /** The seqs received, in arrival order. */
  readonly seqs: number[];
  /** The JSON payloads received (webhook: each record or event), in arrival order. */
  readonly payloads: unknown[];
  /** Requests or frames refused by the protocol check. */
  readonly refused: string[];
  close(): Promise<void>;
}

type HttpCheck = (req: http.IncomingMessage, body: string) => { status: number; answer: string; seqs: number[]; payloads?: unknown[] };

async function startHttp(port: number, check: HttpCheck): Promise<Receiver> {
  const seqs: number[] = [];
  const payloads: unknown[] = [];
  const refused: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let result: ReturnType<HttpCheck>;
      try {
        result = check(req, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        result = { status: 400, answer: JSON.stringify({ error: (err as Error).message }), seqs: [] };
      }
      if (result.status === 200) {
        seqs.push(...result.seqs);
        payloads.push(...(result.payloads ?? []));
      } else refused.push(result.answer);
      res.writeHead(result.status, { 'content-type': 'application/json' }).end(result.answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    seqs,
    payloads,
    refused,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A webhook receiver that checks the HMAC (computed here, independently of the sink) and the freshness. */
export function startWebhookReceiver(port: number, secret: string): Promise<Receiver> {
  return startHttp(port, (req, body) => {
    const timestamp = String(req.headers['x-custos-timestamp'] ?? '');
    const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
    const given = Buffer.from(String(req.headers['x-custos-signature'] ?? ''));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { status: 401, answer: '{"error":"bad signature"}', seqs: [] };
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return { status: 401, answer: '{"error":"stale"}', seqs: [] };
    const payload = JSON.parse(body) as { records: Array<{ seq?: number; metadata?: { sequence: number } }> };
    return { status: 200, answer: '{"ok":true}', seqs: payload.records.map((r) => r.seq ?? r.metadata!.sequence), payloads: payload.records };
  });
}

/** An HTTP Event Collector as Splunk answers it: token check, /services/collector/event, concatenated JSON events. */
export function startHecReceiver(
  port: number,
  token: string,
  seqOf: (event: unknown) => number = (event) => (event as { seq: number }).seq,
): Promise<Receiver> {
  return startHttp(port, (req, body) => {
    if (req.url !== '/services/collector/event')
      return { status: 404, answer: '{"text":"The requested URL was not found on this server.","code":404}', seqs: [] };
    if (req.headers.authorization !== `Splunk ${token}`) return { status: 403, answer: '{"text":"Invalid token","code":4}', seqs: [] };
    const seqs: number[] = [];
    for (const text of body.split('\n')) {
      const event = JSON.parse(text) as { time: number; event: unknown; fields: { custos_seq: string } };
      if (typeof event.time !== 'number' || !event.event) return { status: 400, answer: '{"text":"Event field is required","code":12}', seqs: [] };
      const seq = seqOf(event.event);
      if (String(seq) !== event.fields.custos_seq) return { status: 400, answer: '{"text":"Invalid data format","code":6}', seqs: [] };
      seqs.push(seq);
    }
    return { status: 200, answer: '{"text":"Success","code":0}', seqs };
  });
}

/** An OTLP/HTTP logs receiver (JSON encoding): /v1/logs, ExportLogsServiceRequest. */
export function startOtlpReceiver(port: number): Promise<Receiver> {
  return startHttp(port, (req, body) => {
    if (req.url !== '/v1/logs' || !String(req.headers['content-type']).startsWith('application/json')) return { status: 415, answer: '{}', seqs: [] };
    const request = JSON.parse(body) as {
      resourceLogs: Array<{
        resource: { attributes: Array<{ key: string }> };
        scopeLogs: Array<{
          logRecords: Array<{ timeUnixNano: string; body: { stringValue: string }; attributes: Array<{ key: string; value: { intValue?: string } }> }>;
        }>;
      }>;
    };
    const seqs: number[] = [];
    for (const rl of request.resourceLogs) {
      if (!rl.resource.attributes.some((a) => a.key === 'service.name')) return { status: 400, answer: '{"message":"no service.name"}', seqs: [] };
      for (const sl of rl.scopeLogs) {
        for (const lr of sl.logRecords) {
          if (!/^\d+$/.test(lr.timeUnixNano)) return { status: 400, answer: '{"message":"bad timeUnixNano"}', seqs: [] };
          const seq = Number(lr.attributes.find((a) => a.key === 'custos.seq')?.value.intValue);
          if ((JSON.parse(lr.body.stringValue) as { seq: number }).seq !== seq) return { status: 400, answer: '{"message":"seq mismatch"}', seqs: [] };
          seqs.push(seq);
        }
      }
    }
    return { status: 200, answer: '{"partialSuccess":{}}', seqs };
  });
}

const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[custos@32473 [^\]]*\]) (.*)$/s;

/** Parses octet-counted frames (RFC 6587) from a byte stream, across chunk boundaries. */
export function createFrameParser(onMessage: (message: string) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const space = buffered.indexOf(0x20);
      if (space < 0) return;
      const length = Number(buffered.subarray(0, space).toString('ascii'));
      if (!Number.isInteger(length) || length <= 0) throw new Error('not octet-counted');
      if (buffered.length < space + 1 + length) return;
      onMessage(buffered.subarray(space + 1, space + 1 + length).toString('utf8'));
      buffered = buffered.subarray(space + 1 + length);
    }
  };
}

/** A syslog receiver over TCP or TLS that checks framing and the RFC 5424 header of every message. */
export async function startSyslogReceiver(port: number, tlsOptions?: { key: string; cert: string }): Promise<Receiver> {
  const seqs: number[] = [];
  const refused: string[] = [];
  const onSocket = (socket: net.Socket): void => {
    const parse = createFrameParser((message) => {
      const m = RFC5424.exec(message);
      if (!m || Number.isNaN(Date.parse(m[2]!))) return void refused.push(message.slice(0, 80));
      const seq = Number(/seq="(\d+)"/.exec(m[7]!)?.[1]);
      if ((JSON.parse(m[8]!) as { seq: number }).seq !== seq) return void refused.push('seq mismatch');
      seqs.push(seq);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        parse(chunk);
      } catch (err) {
        refused.push((err as Error).message);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, onSocket) : net.createServer(onSocket);
  const sockets = new Set<net.Socket>();
  server.on(tlsOptions ? 'secureConnection' : 'connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    seqs,
    payloads: [],
    refused,
    close: () =>
      new Promise((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command. */
export function makeCertificate(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/**
 * Debian's rsyslogd as the receiver: imtcp with octet-counted framing, plain TCP or TLS
 * (gtls, the certificate and key made by makeCertificate in `dir`), every message written
 * raw to DIR/received.log. The seqs are read back from that file as rsyslog writes it.
 */
export async function startRsyslog(port: number, dir: string, tlsFiles?: { key: string; cert: string }): Promise<Receiver> {
  const out = path.join(dir, 'received.log');
  const work = path.join(dir, 'rsyslog-work');
  mkdirSync(work, { recursive: true });
  const global = [`workDirectory="${work}"`, 'maxMessageSize="64k"'];
  if (tlsFiles) {
    global.push(
      `defaultNetstreamDriverCAFile="${tlsFiles.cert}"`,
      `defaultNetstreamDriverCertFile="${tlsFiles.cert}"`,
      `defaultNetstreamDriverKeyFile="${tlsFiles.key}"`,
    );
  }
  const driver = tlsFiles ? ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"' : '';
  const conf = path.join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(${global.join(' ')})`,
      `module(load="imtcp"${driver})`,
      `input(type="imtcp" address="127.0.0.1" port="${port}" supportOctetCountedFraming="on")`,
      'template(name="raw" type="string" string="%rawmsg%\\n")',
      `*.* action(type="omfile" file="${out}" template="raw" flushOnTXEnd="on" asyncWriting="off")`,
      '',
    ].join('\n'),
  );
  const child = spawn('rsyslogd', ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready once the port accepts a connection.
  for (let connected = false; !connected;) {
    if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${stderr.slice(0, 500)}`);
    connected = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (!connected) await new Promise((r) => setTimeout(r, 50));
  }
  const seqs: number[] = [];
  const refused: string[] = [];
  const poll = setInterval(() => {
    let lines: string[];
    try {
      lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    } catch {
      return;
    }
    for (const line of lines.slice(seqs.length + refused.length)) {
      const m = RFC5424.exec(line);
      const seq = Number(/seq="(\d+)"/.exec(m?.[7] ?? '')?.[1]);
      if (!m || Number.isNaN(seq) || (JSON.parse(m[8]!) as { seq: number }).seq !== seq) refused.push(line.slice(0, 80));
      else seqs.push(seq);
    }
  }, 20);
  return {
    seqs,
    payloads: [],
    refused,
    close: async () => {
      clearInterval(poll);
      child.kill('SIGTERM');
      await exited;
    },
  };
}

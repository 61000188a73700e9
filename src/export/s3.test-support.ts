/**
 * A local S3-compatible server for tests: s3rver (a real S3 REST server from npm) behind a
 * front that checks every request's AWS Signature Version 4, which s3rver itself does not
 * (its v4 check is unimplemented). The front recomputes the signature from the request as it
 * arrived (method, path, query, the signed headers, the body's SHA-256) with the secret of
 * the one account, refuses a mismatch with 403 SignatureDoesNotMatch, and forwards the rest.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { makeTempDir } from '../audit/index.test-support.js';
import { reservePort } from './receivers.test-support.js';
import { signS3Request } from './sinks/s3-client.js';

export const S3_TEST_ACCOUNT = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' } as const;

export interface TestS3 {
  /** The checked front's URL (what sinks use). */
  readonly endpoint: string;
  /** Starts s3rver (the front answers 502 until then: the bucket is "down"). */
  start(): Promise<void>;
  /** Requests refused for a bad signature. */
  readonly refused: number[];
  close(): Promise<void>;
}

function parseAuthorization(header: string): { accessKeyId: string; day: string; signed: string[]; signature: string } | undefined {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/[^,]+, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(header);
  return m ? { accessKeyId: m[1]!, day: m[2]!, signed: m[3]!.split(';'), signature: m[4]! } : undefined;
}

function checkSignature(req: http.IncomingMessage, body: Buffer, front: string): boolean {
  const auth = parseAuthorization(String(req.headers.authorization ?? ''));
  if (!auth || auth.accessKeyId !== S3_TEST_ACCOUNT.accessKeyId) return false;
  if (req.headers['x-amz-content-sha256'] !== createHash('sha256').update(body).digest('hex')) return false;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!at) return false;
  const url = new URL(req.url ?? '/', front);
  const query = Object.fromEntries(url.searchParams);
  const extra = Object.fromEntries(
    auth.signed.filter((h) => !['host', 'x-amz-content-sha256', 'x-amz-date'].includes(h)).map((h) => [h, String(req.headers[h] ?? '')]),
  );
  const date = new Date(`${at[1]}-${at[2]}-${at[3]}T${at[4]}:${at[5]}:${at[6]}Z`);
  const expected = signS3Request(
    { endpoint: front, ...S3_TEST_ACCOUNT },
    req.method ?? 'GET',
    decodeURIComponent(url.pathname),
    query,
    body.toString('utf8'),
    extra,
    date,
  );
  return expected.headers['authorization'] === req.headers.authorization;
}

export async function startTestS3(buckets: readonly string[]): Promise<TestS3> {
  const dir = makeTempDir();
  const innerPort = await reservePort();
  let inner: S3rver | undefined;
  const refused: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!checkSignature(req, body, endpoint)) {
        refused.push(Date.now());
        res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
        return;
      }
      if (!inner) {
        res.writeHead(502).end();
        return;
      }
      const forward = http.request(
        { host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${innerPort}` } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    refused,
    async start() {
      inner = new S3rver({
        port: innerPort,
        address: '127.0.0.1',
        silent: true,
        directory: dir.path,
        configureBuckets: buckets.map((name) => ({ name, configs: [] })),
        // The front has checked SigV4; s3rver would otherwise refuse the forwarded host header's signature.
        allowMismatchedSignatures: true,
      });
      await inner.run();
    },
    async close() {
      await inner?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dir.remove();
    },
  };
}

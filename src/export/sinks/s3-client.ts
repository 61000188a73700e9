/**
 * The few S3 calls an anchor needs (PutObject, GetObject, ListObjectsV2), signed with AWS
 * Signature Version 4 (header form, path-style URLs: ENDPOINT/BUCKET/KEY), so any
 * S3-compatible store works: AWS S3, MinIO, Ceph RGW, R2. No SDK: SigV4 is one HMAC chain.
 */
import { createHash, createHmac } from 'node:crypto';
import { deliveryFailed } from '../format.js';

export interface S3Location {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly timeoutMs: number;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept; `/` kept in paths). */
function encode(value: string, keepSlash: boolean): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

export interface SignedRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** Signs one request (SigV4, service `s3`). Exported for the test server's check. */
export function signS3Request(
  loc: Pick<S3Location, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>,
  method: string,
  path: string,
  query: Readonly<Record<string, string>>,
  body: string,
  extraHeaders: Readonly<Record<string, string>>,
  now: Date,
): SignedRequest {
  const endpoint = new URL(loc.endpoint);
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  const headers: Record<string, string> = { ...lower(extraHeaders), host: endpoint.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((k) => `${encode(k, false)}=${encode(query[k]!, false)}`)
    .join('&');
  const basePath = endpoint.pathname.replace(/\/$/, '');
  const canonicalPath = encode(`${basePath}${path}`, true);
  const canonicalRequest = [
    method,
    canonicalPath,
    canonicalQuery,
    names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${loc.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${loc.secretAccessKey}`, day), loc.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${loc.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  const url = `${endpoint.origin}${canonicalPath}${canonicalQuery ? `?${canonicalQuery}` : ''}`;
  return { url, headers };
}

function lower(h: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

async function send(loc: S3Location, method: string, key: string, query: Record<string, string>, body = '', extra: Record<string, string> = {}) {
  const path = `/${loc.bucket}${key === '' ? '' : `/${key}`}`;
  const { url, headers } = signS3Request(loc, method, path, query, body, extra, new Date());
  try {
    return await fetch(url, { method, headers, ...(method === 'PUT' ? { body } : {}), signal: AbortSignal.timeout(loc.timeoutMs) });
  } catch (err) {
    throw deliveryFailed((err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable', err);
  }
}

/** PUT an object; `ifNoneMatch` asks the store to refuse overwriting (S3 conditional write). */
export async function putObject(loc: S3Location, key: string, body: string, contentType = 'application/json'): Promise<void> {
  const response = await send(loc, 'PUT', key, {}, body, { 'content-type': contentType, 'if-none-match': '*' });
  await response.text().catch(() => '');
  // 412: the object is already there (a redelivery after a lost answer): the caller compares.
  if (response.status === 412) throw deliveryFailed('s3_exists');
  if (response.status < 200 || response.status > 299) throw deliveryFailed(`http_${response.status}`);
}

/** The object's text, or undefined when there is none. */
export async function getObject(loc: S3Location, key: string): Promise<string | undefined> {
  const response = await send(loc, 'GET', key, {});
  const text = await response.text().catch(() => '');
  if (response.status === 404) return undefined;
  if (response.status < 200 || response.status > 299) throw deliveryFailed(`http_${response.status}`);
  return text;
}

/** Every key under `prefix` (ListObjectsV2, all pages). */
export async function listObjects(loc: S3Location, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) };
    const response = await send(loc, 'GET', '', query);
    const xml = await response.text().catch(() => '');
    if (response.status < 200 || response.status > 299) throw deliveryFailed(`http_${response.status}`);
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(unescapeXml(m[1]!));
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] : undefined;
  } while (token);
  return keys;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

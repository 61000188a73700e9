/**
 * DEV ONLY. OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
 * the MCP authorization spec's preferred registration): a `client_id` that is an https URL
 * (http to a loopback host in dev) names a JSON document of the client's metadata, fetched
 * when the client first appears and cached per its HTTP cache headers. oidc-provider 8 has no
 * support of its own; the dev provider's adapter resolves such ids through this module.
 *
 * Refused (oidc-provider answers `invalid_client` with the reason as `error_description`): a
 * document that is unreachable, slow, not 200, larger than 5 KB, not a JSON object, whose
 * `client_id` is not exactly its URL, or that is not a public client (a `client_secret`, or a
 * `token_endpoint_auth_method` other than `none`). Redirects are not followed.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { errors } from 'oidc-provider';
import type { AdapterPayload } from 'oidc-provider';

export const CLIENT_METADATA_MAX_BYTES = 5 * 1024;
const DEFAULT_TTL_SEC = 300;
const MAX_TTL_SEC = 24 * 3600;
const GRANTS = new Set(['authorization_code', 'refresh_token']);

export interface ClientMetadataOptions {
  /** PEM of extra CAs trusted for https documents (dev: a test CA); default the system's. */
  readonly ca?: string;
  /** Default 5000. */
  readonly fetchTimeoutMs?: number;
  /** Clock for the cache, in ms (tests). */
  readonly now?: () => number;
}

export type ClientMetadataResolver = (clientId: string) => Promise<AdapterPayload>;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether a client_id is meant as a metadata document URL (then it is resolved, or refused). */
export function isClientIdUrl(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://');
}

function refuse(reason: string): never {
  throw new errors.InvalidClient(`client ID metadata document: ${reason}`);
}

function checkUrl(clientId: string): URL {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return refuse('client_id is not a valid URL');
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) refuse('client_id must be an https URL');
  if (url.pathname === '/' || url.hash !== '' || url.username !== '' || url.password !== '') {
    refuse('client_id URL must have a path, and no fragment or credentials');
  }
  if (url.href !== clientId) refuse('client_id URL is not in normal form');
  return url;
}

/** Seconds the answer may be cached: Cache-Control no-store/no-cache → 0, max-age (≤ 24 h), else 5 min. */
export function cacheTtlSec(cacheControl: string | undefined): number {
  const directives = (cacheControl ?? '').toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(directives)) return 0;
  const maxAge = /(^|[\s,])max-age=(\d+)/.exec(directives);
  return maxAge ? Math.min(Number(maxAge[2]), MAX_TTL_SEC) : DEFAULT_TTL_SEC;
}

function fetchDocument(url: URL, options: ClientMetadataOptions): Promise<{ body: string; cacheControl?: string }> {
  const timeoutMs = options.fetchTimeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(err);
    };
    const onResponse = (res: IncomingMessage): void => {
      if (res.statusCode !== 200) return fail(new Error(`answered HTTP ${res.statusCode ?? 0}`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > CLIENT_METADATA_MAX_BYTES) fail(new Error(`larger than ${CLIENT_METADATA_MAX_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ body: Buffer.concat(chunks).toString('utf8'), cacheControl: res.headers['cache-control'] });
      });
      res.on('error', fail);
    };
    const common = { method: 'GET', headers: { accept: 'application/json' }, timeout: timeoutMs };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...common, ca: options.ca }, onResponse) : httpRequest(url, common, onResponse);
    req.on('timeout', () => fail(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end();
  });
}

/** The oidc-provider client metadata a valid document stands for: a public client, code grant. */
export function clientFromDocument(clientId: string, body: string): AdapterPayload {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return refuse('not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) refuse('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.client_id !== clientId) refuse('its client_id differs from the URL it was fetched from');
  if ('client_secret' in d || 'client_secret_expires_at' in d) refuse('a client secret is not allowed (public clients only)');
  if (d.token_endpoint_auth_method !== undefined && d.token_endpoint_auth_method !== 'none') {
    refuse('token_endpoint_auth_method must be none (public clients only)');
  }
  const redirects = d.redirect_uris;
  if (!Array.isArray(redirects) || redirects.length === 0 || !redirects.every((u) => typeof u === 'string')) {
    refuse('redirect_uris must be a non-empty list of URLs');
  }
  const grants = Array.isArray(d.grant_types) ? d.grant_types.filter((g): g is string => typeof g === 'string' && GRANTS.has(g)) : [];
  return {
    client_id: clientId,
    redirect_uris: redirects as string[],
    grant_types: grants.includes('authorization_code') ? grants : ['authorization_code', ...grants],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...(typeof d.client_name === 'string' ? { client_name: d.client_name } : {}),
    ...(d.application_type === 'native' || d.application_type === 'web' ? { application_type: d.application_type } : {}),
  };
}

/** Resolves metadata-document client ids; answers are cached per URL for their Cache-Control lifetime. */
export function createClientMetadataResolver(options: ClientMetadataOptions = {}): ClientMetadataResolver {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { readonly client: AdapterPayload; readonly expiresAt: number }>();
  return async (clientId) => {
    const cached = cache.get(clientId);
    if (cached && cached.expiresAt > now()) return cached.client;
    cache.delete(clientId);
    const url = checkUrl(clientId);
    const fetched = await fetchDocument(url, options).catch((err: Error) => refuse(`could not be fetched: ${err.message}`));
    const client = clientFromDocument(clientId, fetched.body);
    const ttlSec = cacheTtlSec(fetched.cacheControl);
    if (ttlSec > 0) cache.set(clientId, { client, expiresAt: now() + ttlSec * 1000 });
    return client;
  };
}

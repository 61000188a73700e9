/**
 * The user's identity at the tool, issued by the user's own IdP: an RFC 8693 token exchange at
 * the token endpoint of the issuer that signed the user's token, with the user's verified token
 * as `subject_token`, Custos' client credentials at that IdP (client_secret_basic) as the actor,
 * and the upstream as `audience`. The IdP's answer is what the upstream receives.
 *
 * Fails closed with ERR_UPSTREAM_IDENTITY_UNAVAILABLE (the call is not sent) when the user's
 * issuer has no `tokenExchange` client, the call's credential is not a token of that IdP (a
 * Custos delegation or background token cannot be exchanged there), the IdP is unreachable or
 * slow, refuses the exchange, or answers without a usable token. Messages name the IdP and
 * its `error` code, never a token or a secret.
 */
import { CustosError } from '../../kernel/index.js';
import type { Principal } from '../../kernel/index.js';
import { presentedToken } from '../verification/index.js';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './exchange-request.js';

type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface IdpExchangeClient {
  /** The issuer (`iss`) whose users' tokens are exchanged here. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default: `token_endpoint` of the issuer's OIDC discovery document. */
  readonly tokenEndpoint?: string;
  /** The issuer's connection (TLS, pins); default global fetch. */
  readonly fetch?: FetchLike;
}

export interface IdpExchangeOptions {
  /** Default 5000. */
  readonly timeoutMs?: number;
}

/** A token from the user's IdP for `audience`, with its expiry (seconds since epoch). */
export type IdpExchange = (user: Principal, audience: string, nowSec: number) => Promise<{ token: string; expiresAt: number }>;

function unavailable(message: string): CustosError {
  return new CustosError('ERR_UPSTREAM_IDENTITY_UNAVAILABLE', message);
}

/** An OAuth `error` code is safe to repeat; anything else is not quoted. */
const errorCode = (value: unknown): string => (typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'unknown_error');

export function createIdpExchange(clients: readonly IdpExchangeClient[], options: IdpExchangeOptions = {}): IdpExchange {
  const timeoutMs = options.timeoutMs ?? 5000;
  const byIssuer = new Map(clients.map((c) => [c.issuer, c]));
  const endpoints = new Map<string, Promise<string>>();

  async function discover(client: IdpExchangeClient, fetch: FetchLike): Promise<string> {
    const res = await fetch(`${client.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(timeoutMs) });
    const doc = (res.ok ? await res.json() : undefined) as { token_endpoint?: unknown } | undefined;
    if (typeof doc?.token_endpoint !== 'string') throw new Error(`discovery answered HTTP ${res.status} without a token_endpoint`);
    return doc.token_endpoint;
  }

  function tokenEndpoint(client: IdpExchangeClient, fetch: FetchLike): Promise<string> {
    if (client.tokenEndpoint !== undefined) return Promise.resolve(client.tokenEndpoint);
    let endpoint = endpoints.get(client.issuer);
    if (!endpoint) {
      endpoint = discover(client, fetch);
      endpoints.set(client.issuer, endpoint);
      endpoint.catch(() => endpoints.delete(client.issuer)); // a failed discovery is tried again next call
    }
    return endpoint;
  }

  return async (user, audience, nowSec) => {
    const client = byIssuer.get(user.iss);
    if (!client) throw unavailable(`The user's issuer ${user.iss} has no tokenExchange client configured; the call was not sent.`);
    const subjectToken = presentedToken(user);
    if (subjectToken === undefined) {
      throw unavailable(`The call's credential is not a token of the user's IdP (${user.iss}), so it cannot be exchanged there; the call was not sent.`);
    }
    const fetch = client.fetch ?? globalThis.fetch;
    let res: Response;
    try {
      const endpoint = await tokenEndpoint(client, fetch);
      res = await fetch(endpoint, {
        method: 'POST',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT,
          subject_token: subjectToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          requested_token_type: ACCESS_TOKEN_TYPE,
          audience,
        }),
      });
    } catch (err) {
      const why = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable';
      throw unavailable(`The identity provider ${client.issuer} is ${why} for the token exchange; the call was not sent.`);
    }
    const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!res.ok) {
      throw unavailable(`The identity provider ${client.issuer} refused the token exchange for ${audience}: ${errorCode(body?.error)}; the call was not sent.`);
    }
    const token = body?.access_token;
    const expiresIn = body?.expires_in;
    if (typeof token !== 'string' || token === '' || String(body?.token_type).toLowerCase() !== 'bearer' || typeof expiresIn !== 'number' || expiresIn <= 0) {
      throw unavailable(`The identity provider ${client.issuer} answered the token exchange without a usable bearer token; the call was not sent.`);
    }
    return { token, expiresAt: nowSec + Math.floor(expiresIn) };
  };
}

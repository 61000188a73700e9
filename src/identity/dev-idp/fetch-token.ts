/**
 * DEV ONLY. Gets an access token from the dev identity provider by running the real
 * authorization-code + PKCE flow over HTTP, following each redirect by hand with a tiny
 * cookie jar. Needs only the issuer URL, so it works from another process.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CustosError } from '../../kernel/index.js';
import { DEV_CLIENT_ID, DEV_REDIRECT_URI, DEV_SCOPE } from './provider.js';
import { LOGIN_FIELD } from './interactions.js';

const MAX_REDIRECTS = 20;
const TIMEOUT_MS = 10_000;

interface Cookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

/** Remembers cookies per name and path; sends those whose path prefixes the request path. */
class CookieJar {
  readonly #cookies = new Map<string, Cookie>();

  store(response: Response, requestUrl: URL): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const pathAttr = attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='));
      const path = pathAttr ? pathAttr.slice(5) : requestUrl.pathname.replace(/\/[^/]*$/, '') || '/';
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now());
      const key = `${name};${path}`;
      if (value === '' || expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function fail(message: string): never {
  throw new CustosError('ERR_IDENTITY_DEV_LOGIN_FAILED', `dev identity provider: ${message}`);
}

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const response = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!response.ok) fail(`discovery answered ${response.status}`);
  const doc = (await response.json()) as Record<string, unknown>;
  if (typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string') {
    fail('discovery document lacks endpoints');
  }
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/** The next request of a sign-in: a GET, or the login page's form post. */
interface Step {
  readonly url: URL;
  readonly form?: URLSearchParams;
}

/**
 * DEV ONLY. Signs `username` in at the dev provider as a browser would: follows the
 * authorization request's redirects (with the provider's cookies), fills in the login page
 * when it is shown (no `login_hint`), and returns the URL the provider finally redirects to
 * under `redirectUri` (carrying `code` and `state`, or `error`). Works for any client,
 * registered dynamically or not.
 */
export async function signInDevUser(authorizationUrl: URL | string, username: string, redirectUri: string): Promise<URL> {
  const jar = new CookieJar();
  const target = new URL(redirectUri);
  let step: Step = { url: new URL(authorizationUrl) };
  for (let hop = 0; hop < MAX_REDIRECTS; hop += 1) {
    const { url, form } = step;
    const cookie = jar.header(url);
    const response = await fetch(url, {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(form === undefined ? {} : { body: form }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    jar.store(response, url);
    const location = response.headers.get('location');
    const isLoginPage = response.status === 200 && form === undefined && (response.headers.get('content-type') ?? '').startsWith('text/html');
    await response.body?.cancel();
    if (isLoginPage) {
      step = { url: new URL(`${url.pathname.replace(/\/+$/, '')}/login`, url), form: new URLSearchParams({ [LOGIN_FIELD]: username }) };
      continue;
    }
    if (response.status < 300 || response.status > 399 || !location) {
      fail(`authorization stopped with HTTP ${response.status} (unknown user?)`);
    }
    const next = new URL(location, url);
    if (next.origin === target.origin && next.pathname === target.pathname) return next;
    step = { url: next };
  }
  return fail('too many redirects');
}

/** Signs in through the redirects; returns the authorization code. */
async function followToCode(start: URL, user: string, state: string): Promise<string> {
  const next = await signInDevUser(start, user, DEV_REDIRECT_URI);
  const error = next.searchParams.get('error');
  if (error) fail(`authorization failed: ${error}`);
  if (next.searchParams.get('state') !== state) fail('state mismatch');
  return next.searchParams.get('code') ?? fail('no code in the redirect');
}

/** Runs authorization code + PKCE as the public client `custos-cli` for `user` and returns the JWT access token. */
export async function fetchDevToken(issuer: string, user: string, options: { resource?: string } = {}): Promise<string> {
  const endpoints = await discover(issuer);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(endpoints.authorization_endpoint);
  const params: Record<string, string> = {
    client_id: DEV_CLIENT_ID,
    response_type: 'code',
    redirect_uri: DEV_REDIRECT_URI,
    scope: DEV_SCOPE,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    login_hint: user,
    ...(options.resource === undefined ? {} : { resource: options.resource }),
  };
  for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);
  const code = await followToCode(authorize, user, state);
  const response = await fetch(endpoints.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: DEV_REDIRECT_URI,
      client_id: DEV_CLIENT_ID,
      code_verifier: verifier,
      ...(options.resource === undefined ? {} : { resource: options.resource }),
    }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) fail(`token endpoint answered ${response.status} ${typeof body.error === 'string' ? body.error : ''}`.trim());
  const token = body.access_token;
  if (typeof token !== 'string' || token.split('.').length !== 3) fail('the access token is not a JWT');
  return token;
}

/**
 * Sign-in at the configured OIDC issuer: authorization code with PKCE (S256), the console a
 * public client. The access token (audience: Custos' resource URL) lives in sessionStorage
 * for this tab only and goes on every API call as a bearer token.
 */
export interface ClientConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly resource: string;
}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly end_session_endpoint?: string;
}

const TOKEN_KEY = 'custos.console.token';
const PKCE_KEY = 'custos.console.pkce';

const redirectUri = (): string => `${window.location.origin}/console/`;

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function loadClientConfig(): Promise<ClientConfig> {
  const res = await fetch('/console/config.json');
  if (!res.ok) throw new Error(`console config: HTTP ${res.status}`);
  return (await res.json()) as ClientConfig;
}

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`issuer discovery: HTTP ${res.status}`);
  return (await res.json()) as Discovery;
}

/** Sends the browser to the issuer's sign-in page. */
export async function signIn(config: ClientConfig): Promise<void> {
  const { authorization_endpoint: endpoint } = await discover(config.issuer);
  const verifier = randomText();
  const state = randomText();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: config.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: config.resource,
  }))
    url.searchParams.set(k, v);
  window.location.assign(url.toString());
}

/** On the redirect back: exchanges the code for a token (once), then drops the code from the address bar. */
export async function completeSignIn(config: ClientConfig): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return;
  window.history.replaceState(null, '', '/console/');
  if (error) throw new Error(`sign-in refused: ${error}`);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem(PKCE_KEY);
  if (!saved || saved.state !== params.get('state')) throw new Error('sign-in: the state does not match; sign in again');
  const { token_endpoint: endpoint } = await discover(config.issuer);
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri(),
      client_id: config.clientId,
      code_verifier: saved.verifier,
      resource: config.resource,
    }),
  });
  if (!res.ok) throw new Error(`sign-in: the token exchange failed (HTTP ${res.status})`);
  const body = (await res.json()) as { access_token: string; expires_in?: number };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 }));
}

export function currentToken(): string | undefined {
  const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) ?? 'null') as { token: string; expiresAt: number } | null;
  if (!saved || saved.expiresAt <= Date.now()) return undefined;
  return saved.token;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  window.location.assign('/console/');
}

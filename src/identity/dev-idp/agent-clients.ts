/**
 * DEV ONLY. Agent (workload) clients of the dev identity provider: confidential clients
 * that get JWT access tokens for the Custos resource with the client-credentials grant.
 * They are the agents' own credentials, presented as `actor_token` in a token exchange.
 */
import { randomBytes } from 'node:crypto';
import type { ClientMetadata } from 'oidc-provider';
import { CustosError } from '../../kernel/index.js';
import { TOKEN_EXCHANGE_GRANT } from './token-exchange.js';

export interface DevAgentClient {
  readonly clientId: string;
  /** Generated at start when absent. */
  readonly clientSecret?: string;
}

/** Demo agents: a primary agent, two sub-agents, a background runner, an API service, and Custos' own client (`idp-exchange`). */
export const DEMO_AGENT_CLIENTS: readonly DevAgentClient[] = Object.freeze(
  ['research-agent', 'summarizer-agent', 'citation-agent', 'nightly-runner', 'billing-api', 'custos-gateway'].map((clientId) => Object.freeze({ clientId })),
);

/** The agent clients with their secrets (generated when absent). */
export function resolveAgentClients(clients: readonly DevAgentClient[]): ReadonlyMap<string, string> {
  return new Map(clients.map((c) => [c.clientId, c.clientSecret ?? randomBytes(24).toString('base64url')]));
}

export function agentClientMetadata(clients: ReadonlyMap<string, string>): ClientMetadata[] {
  return [...clients].map(([client_id, client_secret]) => ({
    client_id,
    client_secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT],
    redirect_uris: [],
    response_types: [],
  }));
}

/** Runs the client-credentials grant at the dev provider and returns the JWT access token. */
export async function fetchDevClientToken(
  issuer: string,
  clientId: string,
  clientSecret: string,
  options: { resource: string; scope?: string },
): Promise<string> {
  const discovery = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
  const { token_endpoint: endpoint } = (await discovery.json()) as { token_endpoint?: unknown };
  if (typeof endpoint !== 'string') throw new CustosError('ERR_IDENTITY_DEV_LOGIN_FAILED', 'dev identity provider: no token endpoint');
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: options.resource, scope: options.scope ?? 'mcp' }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const token = body.access_token;
  if (!response.ok || typeof token !== 'string' || token.split('.').length !== 3) {
    throw new CustosError(
      'ERR_IDENTITY_DEV_LOGIN_FAILED',
      `dev identity provider: client credentials answered ${response.status} ${typeof body.error === 'string' ? body.error : ''}`.trim(),
    );
  }
  return token;
}

/**
 * DEV ONLY: a real OpenID Provider (oidc-provider) on 127.0.0.1 for the quick start and
 * the tests. Logs in demo users by `login_hint` without a password. Never run it in
 * production and never point a production Custos at it.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';
import type { Configuration, JWK } from 'oidc-provider';
import { handleInteraction, INTERACTION_PATH } from './interactions.js';
import { backchannelClientMetadata, backchannelFeature, sendBackchannelLogout } from './backchannel.js';
import { createMemoryAdapter } from './memory-adapter.js';
import { createClientMetadataResolver } from './client-metadata.js';
import { agentClientMetadata, DEMO_AGENT_CLIENTS, resolveAgentClients } from './agent-clients.js';
import type { DevAgentClient } from './agent-clients.js';
import { DEMO_USERS, devUserClaims, findDevUser } from './users.js';
import { registerTokenExchange } from './token-exchange.js';
import type { DevUser } from './users.js';

export const DEV_CLIENT_ID = 'custos-cli';
export const DEV_REDIRECT_URI = 'http://127.0.0.1/callback';
export const DEV_SCOPE = 'openid mcp';
/** The web console's public client (config `console.clientId`'s default). */
export const DEV_CONSOLE_CLIENT_ID = 'custos-console';

export interface DevIdentityProviderOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** The Custos resource, e.g. http://127.0.0.1:8787/mcp: the default resource and token audience. */
  readonly audience: string;
  /** Default 3600. */
  readonly accessTokenTtlSec?: number;
  /** Where the web console receives its code (e.g. http://127.0.0.1:8787/console/): registers the `custos-console` public client. */
  readonly consoleRedirectUri?: string;
  /** Default DEMO_USERS (alice, bob, and the console's audrey, sam, ada). */
  readonly users?: readonly DevUser[];
  /** Workload clients with the client-credentials grant (default DEMO_AGENT_CLIENTS, secrets generated). */
  readonly agentClients?: readonly DevAgentClient[];
  /** Where the dev client receives OIDC back-channel logout tokens (e.g. Custos's /oauth/backchannel-logout). */
  readonly backchannelLogoutUri?: string;
  /** PEM of CAs trusted when fetching client ID metadata documents over https (dev: a test CA). */
  readonly clientMetadataCa?: string;
  /** Where the dev-only warning line goes. Default console.warn. */
  readonly log?: (line: string) => void;
}

export interface DevIdentityProvider {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Sends a signed back-channel logout token for the user's session to `backchannelLogoutUri`. */
  backchannelLogout(sub: string, sid: string): Promise<void>;
  /** Client id → secret of the agent clients (DEV ONLY, for fetchDevClientToken). */
  readonly agentClients: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

function generateSigningKeys(): JWK[] {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return [
    { ...ec, kid: `dev-es256-${randomUUID()}`, alg: 'ES256', use: 'sig' } as JWK,
    { ...rsa, kid: `dev-rs256-${randomUUID()}`, alg: 'RS256', use: 'sig' } as JWK,
  ];
}

function buildAccount(user: DevUser) {
  return {
    accountId: user.sub,
    claims: () => ({
      sub: user.sub,
      ...(user.name === undefined ? {} : { name: user.name }),
      ...(user.email === undefined ? {} : { email: user.email, email_verified: true }),
    }),
  };
}

/**
 * The IdP session id. oidc-provider only puts the OIDC `sid` on a code when the client
 * registered back-channel logout; otherwise the session's uid names the same login session.
 */
function sessionClaim(token: object): { sid?: string } {
  const { sid, sessionUid } = token as { sid?: unknown; sessionUid?: unknown };
  if (typeof sid === 'string') return { sid };
  return typeof sessionUid === 'string' ? { sid: sessionUid } : {};
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function buildConfiguration(
  options: DevIdentityProviderOptions,
  users: readonly DevUser[],
  agents: ReadonlyMap<string, string>,
  signingKeys: JWK[],
): Configuration {
  const ttl = options.accessTokenTtlSec ?? 3600;
  return {
    // A client_id that is a URL is a client ID metadata document, fetched and checked on first use.
    adapter: createMemoryAdapter(createClientMetadataResolver({ ca: options.clientMetadataCa })),
    discovery: { claim_types_supported: ['normal'], client_id_metadata_document_supported: true },
    clients: [
      {
        client_id: DEV_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        redirect_uris: [DEV_REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        ...backchannelClientMetadata(options.backchannelLogoutUri),
      },
      ...agentClientMetadata(agents),
      ...(options.consoleRedirectUri
        ? [
            {
              client_id: DEV_CONSOLE_CLIENT_ID,
              token_endpoint_auth_method: 'none' as const,
              application_type: 'web' as const,
              redirect_uris: [options.consoleRedirectUri],
              grant_types: ['authorization_code'],
              response_types: ['code' as const],
            },
          ]
        : []),
    ],
    // The console exchanges its code from the browser: CORS for its own origin only.
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientId === DEV_CONSOLE_CLIENT_ID && client.redirectUris?.some((u) => new URL(u).origin === origin) === true,
    jwks: { keys: signingKeys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // offline_access turns on the refresh_token grant, which MCP clients register for.
    scopes: ['openid', 'mcp', 'offline_access'],
    pkce: { required: () => true },
    ttl: { AccessToken: ttl, ClientCredentials: ttl, AuthorizationCode: 60, IdToken: ttl, Interaction: 600, Session: 3600, Grant: 3600 },
    findAccount: (_ctx, sub) => {
      const user = findDevUser(users, sub);
      return user && user.sub === sub ? buildAccount(user) : undefined;
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      ...backchannelFeature(options.backchannelLogoutUri),
      clientCredentials: { enabled: true },
      // RFC 7591 dynamic client registration, open (no initial access token): MCP clients register themselves. Dev only.
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        // Dev only: any http(s) resource is accepted and becomes the audience (the default is `audience`).
        getResourceServerInfo: (_ctx, resource) => {
          if (!isHttpUrl(resource)) throw new errors.InvalidTarget();
          return { audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: ttl, jwt: { sign: { alg: 'ES256' } }, scope: DEV_SCOPE };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const user = 'accountId' in token ? findDevUser(users, token.accountId) : undefined;
      if (!user) return undefined;
      return { ...devUserClaims(user), ...sessionClaim(token) };
    },
    renderError: (ctx, out) => {
      ctx.type = 'application/json';
      ctx.body = { error: out.error, error_description: out.error_description };
    },
  };
}

/** Starts the dev-only provider on node:http; the issuer is http://HOST:PORT. */
export async function startDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  if (!isHttpUrl(options.audience)) throw new TypeError('dev identity provider: audience must be an http(s) URL');
  const users = options.users ?? DEMO_USERS;
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new TypeError('dev identity provider: DEV ONLY, it binds loopback addresses only');
  // The request listener is attached once the issuer (which needs the port) is known.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const issuer = `http://${urlHost}:${port}`;
  const agentClients = resolveAgentClients(options.agentClients ?? DEMO_AGENT_CLIENTS);
  const signingKeys = generateSigningKeys();
  const provider = new Provider(issuer, buildConfiguration(options, users, agentClients, signingKeys));
  // RFC 8693 at the user's own IdP: Custos' client exchanges a user's token for an upstream's audience.
  registerTokenExchange(provider, { issuer, signingKey: signingKeys[0]!, users });
  const callback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith(INTERACTION_PATH)) {
      handleInteraction(provider, users, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    void callback(req, res);
  });
  (options.log ?? console.warn)(`[custos] DEV-ONLY identity provider at ${issuer}: logs in demo users without a password; never use it in production.`);
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    backchannelLogout: (sub, sid) => sendBackchannelLogout(provider, DEV_CLIENT_ID, sub, sid),
    agentClients,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

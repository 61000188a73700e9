/**
 * createTokenExchanger: Custos' token endpoint (RFC 8693) and background grants, as the
 * kernel TokenExchanger port.
 *
 * exchange: subject_token = the user's token or a Custos delegation token (or a background
 * grant token), actor_token = the agent's own credential from a configured issuer. The new
 * token: sub = the user, `act` = the chain with the actor appended, the original `sid`, a
 * scope that can only narrow, depth ≤ maxDepth, lifetime ≤ tokenTtlSec and ≤ the subject's.
 * Every outcome is audited (admin row issued, deny row refused) before it is returned.
 */
import { randomUUID } from 'node:crypto';
import { CustosError, delegationDenyReason, isCustosError } from '../../kernel/index.js';
import type {
  BackgroundGrant,
  ControlPlaneRecorder,
  BackgroundGrantRequest,
  CredentialKind,
  Principal,
  SessionGuard,
  Tier,
  TokenExchanger,
  TokenVerifier,
} from '../../kernel/index.js';
import { deriveTier } from '../verification/index.js';
import { createMemoryGrantRegistry } from './background-grants.js';
import type { GrantRegistry } from './background-grants.js';
import { GRANT_TOKEN_TYP, mintDelegationToken, mintGrantToken, principalFromCustosClaims, verifyCustosToken } from './custos-tokens.js';
import type { CustosTokenContext } from './custos-tokens.js';
import { recordExchange } from './exchange-audit.js';
import type { ExchangeAuditContext } from './exchange-audit.js';
import { ACCESS_TOKEN_TYPE, BACKGROUND_GRANT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, narrowScope, parseExchangeRequest, refuse } from './exchange-request.js';
import type { ExchangeRequest } from './exchange-request.js';
import type { SigningKeyStore } from './signing-keys.js';

export interface DelegationSettings {
  /** Lifetime of a minted token (default 300 s). */
  readonly tokenTtlSec: number;
  /** Most actors in a chain (default 3). */
  readonly maxDepth: number;
  /** Actor client ids that are API callers (tier api) rather than agents (tier subagent). */
  readonly apiClients: readonly string[];
  readonly grantDefaultTtlSec: number;
  readonly grantMaxTtlSec: number;
  readonly clockSkewSec: number;
}

export const DEFAULT_DELEGATION_SETTINGS: DelegationSettings = Object.freeze({
  tokenTtlSec: 300,
  maxDepth: 3,
  apiClients: [],
  grantDefaultTtlSec: 7 * 86_400,
  grantMaxTtlSec: 30 * 86_400,
  clockSkewSec: 60,
});

export interface TokenExchangerOptions {
  /** Custos' public URL: the `iss` of its tokens. */
  readonly issuer: string;
  /** The Custos resource (MCP URL): the `aud` of delegation tokens. */
  readonly resource: string;
  readonly keys: SigningKeyStore;
  /** The front-door verifier: user tokens (interactive clients) and Custos delegation tokens. */
  readonly subjectVerifier: TokenVerifier;
  /** Verifies an agent's own credential from a configured issuer. */
  readonly actorVerifier: (token: string) => Promise<Principal>;
  /** Where its rows go (the pipeline's recordAdmin / recordRefusal: redacted, pinned to the bundle in force). */
  readonly audit: ControlPlaneRecorder;
  readonly settings?: Partial<DelegationSettings>;
  readonly grants?: GrantRegistry;
  /** Checks the subject's session (revoked, idle) before anything is minted from it. */
  readonly sessions?: SessionGuard;
  /** Milliseconds since epoch. */
  readonly clock?: () => number;
}

export const TOKEN_PATH = '/oauth/token';
export const JWKS_PATH = '/.well-known/jwks.json';

interface Subject {
  readonly user: Principal;
  readonly actors: readonly string[];
  readonly scope?: readonly string[];
  readonly expiresAt: number;
  readonly grantId?: string;
}

const TIER_OF: Record<Exclude<CredentialKind, 'user'>, Tier> = { delegation: 'subagent', background: 'background', client: 'api' };

export function createTokenExchanger(options: TokenExchangerOptions): TokenExchanger & { readonly grants: GrantRegistry } {
  const settings = { ...DEFAULT_DELEGATION_SETTINGS, ...options.settings };
  const clock = options.clock ?? Date.now;
  const grants = options.grants ?? createMemoryGrantRegistry({ clock });
  const issuer = options.issuer.replace(/\/+$/, '');
  const tokenEndpoint = `${issuer}${TOKEN_PATH}`;
  const ctx: CustosTokenContext = { keys: options.keys, issuer, clockSkewSec: settings.clockSkewSec, clock };
  const auditCtx: ExchangeAuditContext = { rows: options.audit };
  const nowSec = (): number => Math.floor(clock() / 1000);

  /** `known.user` is set once the grant token verifies, so a refusal of its grant is recorded under its user. */
  async function verifyGrantSubject(token: string, known: { user?: Principal }): Promise<Subject & { clientId: string }> {
    let user: Principal;
    try {
      user = principalFromCustosClaims(await verifyCustosToken(ctx, token, GRANT_TOKEN_TYP, tokenEndpoint));
    } catch (err) {
      throw refuse('invalid_grant', 'grant_invalid', 'The background grant token does not verify.', isCustosError(err) ? err.code : undefined);
    }
    known.user = user;
    const record = user.tokenId === undefined ? undefined : await grants.get(user.tokenId);
    if (!record || record.sub !== user.sub || record.iss !== user.iss)
      throw refuse('invalid_grant', 'grant_invalid', 'The background grant is unknown or expired.');
    if (record.revoked) throw refuse('invalid_grant', 'grant_revoked', 'The background grant was revoked.');
    return { user, actors: [], scope: record.scope, expiresAt: record.expiresAt, grantId: record.grantId, clientId: record.clientId };
  }

  async function verifySubject(token: string): Promise<Subject> {
    let user: Principal;
    try {
      user = await options.subjectVerifier.verify(token);
      await options.sessions?.check(user, deriveTier(user));
    } catch (err) {
      throw refuse('invalid_request', 'subject_token_invalid', 'The subject token does not verify.', isCustosError(err) ? err.code : undefined);
    }
    // A background or API token may be delegated on (its chain grows); its grant id does not travel.
    return { user, actors: user.actors ?? [], scope: user.scope, expiresAt: user.expiresAt ?? nowSec() + settings.tokenTtlSec };
  }

  async function verifyActor(token: string): Promise<string> {
    try {
      const actor = await options.actorVerifier(token);
      return actor.clientId ?? actor.sub;
    } catch (err) {
      throw refuse('invalid_request', 'actor_token_invalid', 'The actor token does not verify.', isCustosError(err) ? err.code : undefined);
    }
  }

  function credentialFor(request: ExchangeRequest, subject: Subject, actor: string): Exclude<CredentialKind, 'user'> {
    if (request.subjectIsGrant) return 'background';
    const fromUser = subject.actors.length === 0;
    return fromUser && settings.apiClients.includes(actor) ? 'client' : 'delegation';
  }

  async function issue(request: ExchangeRequest, traceId: string | undefined, known: { user?: Principal }): Promise<Readonly<Record<string, unknown>>> {
    const subject = request.subjectIsGrant ? await verifyGrantSubject(request.subjectToken, known) : await verifySubject(request.subjectToken);
    known.user = subject.user;
    const actor = await verifyActor(request.actorToken);
    if ('clientId' in subject && subject.clientId !== actor)
      throw refuse('invalid_grant', 'actor_not_grantee', 'The actor is not the runner this grant was given to.');
    const actors = [...subject.actors, actor];
    if (actors.length > settings.maxDepth) throw refuse('invalid_request', 'depth_exceeded', `The delegation chain would exceed ${settings.maxDepth} actors.`);
    const scope = narrowScope(subject.scope, request.scope);
    const credential = credentialFor(request, subject, actor);
    const expiresAt = Math.min(nowSec() + settings.tokenTtlSec, subject.expiresAt);
    // Within the clock skew a subject may verify after its exp: nothing is minted from it.
    if (expiresAt <= nowSec()) throw refuse('invalid_request', 'subject_token_invalid', 'The subject token has expired.', 'ERR_IDENTITY_TOKEN_EXPIRED');
    const { token, jti } = await mintDelegationToken(ctx, options.resource, {
      user: subject.user,
      actors,
      credential,
      scope,
      grantId: subject.grantId,
      expiresAt,
    });
    const tier = TIER_OF[credential];
    const chain = [`user:${subject.user.sub}`, ...actors.map((a) => `agent:${a}`)];
    await recordExchange(auditCtx, {
      allowed: true,
      action: 'token_exchange',
      reason: 'token_exchange',
      user: subject.user,
      agent: { name: actor, tier, chain },
      detail: {
        action: 'token_exchange',
        jti,
        tier,
        depth: actors.length,
        scope: scope ?? null,
        expires_at: expiresAt,
        ...(subject.grantId ? { grant_id: subject.grantId } : {}),
      },
      traceId,
    });
    return {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: Math.max(0, expiresAt - nowSec()),
      ...(scope === undefined ? {} : { scope: scope.join(' ') }),
    };
  }

  return {
    grants,
    async exchange(form, context = {}) {
      const known: { user?: Principal } = {};
      try {
        return await issue(parseExchangeRequest(form, options.resource), context.traceId, known);
      } catch (err) {
        if (!isCustosError(err) || err.code !== 'ERR_IDENTITY_DELEGATION_INVALID' || context.quiet === true) throw err;
        await recordExchange(auditCtx, {
          allowed: false,
          reason: delegationDenyReason(err.detail?.reason),
          user: known.user,
          detail: { action: 'token_exchange', ...err.detail },
          traceId: context.traceId,
        });
        throw err;
      }
    },
    async createBackgroundGrant(principal, request) {
      try {
        return await createGrant(principal, request);
      } catch (err) {
        if (isCustosError(err) && err.code === 'ERR_IDENTITY_DELEGATION_INVALID') {
          await recordExchange(auditCtx, {
            allowed: false,
            reason: delegationDenyReason(err.detail?.reason),
            user: principal,
            detail: { action: 'background_grant', client_id: request.clientId, ...err.detail },
          });
        }
        throw err;
      }
    },
    async revokeBackgroundGrant(principal, grantId) {
      const revoked = await grants.revoke(grantId, principal);
      if (revoked) {
        await recordExchange(auditCtx, {
          allowed: true,
          action: 'background_grant_revoked',
          reason: 'background_grant_revoked',
          user: principal,
          detail: { action: 'background_grant_revoked', grant_id: grantId },
        });
      }
      return revoked;
    },
    jwks: () => options.keys.jwks(),
    metadata: () => ({
      issuer,
      token_endpoint: tokenEndpoint,
      jwks_uri: `${issuer}${JWKS_PATH}`,
      grant_types_supported: [TOKEN_EXCHANGE_GRANT],
      token_endpoint_auth_methods_supported: ['none'],
      custos_subject_token_types_supported: [ACCESS_TOKEN_TYPE, BACKGROUND_GRANT_TOKEN_TYPE],
    }),
  };

  async function createGrant(user: Principal, request: BackgroundGrantRequest): Promise<BackgroundGrant> {
    if (deriveTier(user) !== 'interactive') {
      throw refuse('invalid_request', 'grant_requires_interactive', 'Only the user, with their own interactive token, can grant background access.');
    }
    const ttl = request.ttlSec ?? settings.grantDefaultTtlSec;
    if (!Number.isInteger(ttl) || ttl <= 0 || ttl > settings.grantMaxTtlSec) {
      throw new CustosError('ERR_GATEWAY_BAD_REQUEST', `ttl_sec must be 1..${settings.grantMaxTtlSec}.`);
    }
    const scope = narrowScope(user.scope, request.scope);
    const grantId = randomUUID();
    const expiresAt = nowSec() + ttl;
    const { token } = await mintGrantToken(ctx, tokenEndpoint, { grantId, user, clientId: request.clientId, scope, expiresAt });
    await recordExchange(auditCtx, {
      allowed: true,
      action: 'background_grant',
      reason: 'background_grant_created',
      user,
      detail: { action: 'background_grant', grant_id: grantId, client_id: request.clientId, scope: scope ?? null, expires_at: expiresAt },
    });
    await grants.add({
      grantId,
      sub: user.sub,
      iss: user.iss,
      clientId: request.clientId,
      ...(scope === undefined ? {} : { scope }),
      expiresAt,
      revoked: false,
    });
    return { grantId, grantToken: token, clientId: request.clientId, ...(scope === undefined ? {} : { scope }), expiresAt };
  }
}

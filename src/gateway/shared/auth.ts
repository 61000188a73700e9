/**
 * Bearer authentication shared by every front door: a request without a verified token
 * is refused with 401 + WWW-Authenticate (RFC 6750 / RFC 9728) and an auth_failure row,
 * through the flood guard: recorded in aggregate per source, 429 past the source's budget.
 * A token that verifies is never rate limited.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError, toCustosError } from '../../kernel/index.js';
import type { CallKind, IdSource, Pipeline, Principal, SessionGuard, TokenVerifier } from '../../kernel/index.js';
import type { DeriveAgent, Logger } from '../types.js';
import type { FloodGuard } from './flood-guard.js';
import { extractBearer, parseTraceparent, sendError } from './io.js';
import { admitSession } from './session-check.js';

export interface Authenticator {
  /** The verified principal, or undefined once a 401 has been sent. */
  authenticate(req: IncomingMessage, res: ServerResponse, context?: { kind?: CallKind }): Promise<Principal | undefined>;
}

export interface AuthenticatorDeps {
  readonly verifier: TokenVerifier;
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  /** Where the protected resource metadata is served (RFC 9728). */
  readonly resourceMetadataUrl: string;
  /** Session revocation and idle logoff, checked after the credential verifies (absent: not checked). */
  readonly sessions?: SessionGuard;
  readonly deriveAgent?: DeriveAgent;
  readonly ids?: IdSource;
  readonly maxBodyBytes?: number;
  /** Limits and records failures per source. */
  readonly guard: FloodGuard;
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  function challenge(tokenPresented: boolean): string {
    const parts = [`Bearer resource_metadata="${deps.resourceMetadataUrl}"`];
    if (tokenPresented) parts.push('error="invalid_token"');
    return parts.join(', ');
  }

  async function admit(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<boolean> {
    const { sessions, deriveAgent, ids } = deps;
    if (!sessions || !deriveAgent || !ids) return true;
    return admitSession(
      { sessions, deriveAgent, ids, pipeline: deps.pipeline, logger: deps.logger, maxBodyBytes: deps.maxBodyBytes ?? 1024 * 1024 },
      req,
      res,
      principal,
      challenge(true),
    );
  }

  async function authenticate(req: IncomingMessage, res: ServerResponse, context?: { kind?: CallKind }): Promise<Principal | undefined> {
    const token = extractBearer(req);
    let failure: CustosError | undefined;
    if (token === undefined) {
      failure = new CustosError('ERR_IDENTITY_TOKEN_MISSING');
    } else {
      let principal: Principal | undefined;
      try {
        principal = await deps.verifier.verify(token);
      } catch (err) {
        failure = toCustosError(err);
      }
      if (principal) return (await admit(req, res, principal)) ? principal : undefined;
      failure ??= new CustosError('ERR_INTERNAL');
    }
    // A verifier bug is not an identity: refuse with its own status (500), still audited.
    const refused = failure;
    const headers: Record<string, string> = refused.code.startsWith('ERR_IDENTITY_') ? { 'www-authenticate': challenge(token !== undefined) } : {};
    const refusal = { code: refused.code, kind: context?.kind, traceId: parseTraceparent(req.headers.traceparent) };
    await deps.guard.refuse(req, res, refusal, () => sendError(res, refused, deps.logger, headers));
    return undefined;
  }

  return { authenticate };
}

/**
 * Bearer authentication shared by every front door: a request without a verified token
 * is refused with 401 + WWW-Authenticate (RFC 6750 / RFC 9728) and an auth_failure row.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError, toCustosError } from '../../kernel/index.js';
import type { CallKind, Pipeline, Principal, TokenVerifier } from '../../kernel/index.js';
import type { Logger } from '../types.js';
import { extractBearer, parseTraceparent, sendError } from './io.js';

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
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  function challenge(tokenPresented: boolean): string {
    const parts = [`Bearer resource_metadata="${deps.resourceMetadataUrl}"`];
    if (tokenPresented) parts.push('error="invalid_token"');
    return parts.join(', ');
  }

  async function authenticate(req: IncomingMessage, res: ServerResponse, context?: { kind?: CallKind }): Promise<Principal | undefined> {
    const token = extractBearer(req);
    let failure: CustosError;
    if (token === undefined) {
      failure = new CustosError('ERR_IDENTITY_TOKEN_MISSING');
    } else {
      try {
        return await deps.verifier.verify(token);
      } catch (err) {
        failure = toCustosError(err);
      }
    }
    // A verifier bug is not an identity: refuse with its own status (500), still audited.
    await deps.pipeline.recordAuthFailure({ code: failure.code, kind: context?.kind, traceId: parseTraceparent(req.headers.traceparent) });
    const headers: Record<string, string> = failure.code.startsWith('ERR_IDENTITY_') ? { 'www-authenticate': challenge(token !== undefined) } : {};
    sendError(res, failure, deps.logger, headers);
    return undefined;
  }

  return { authenticate };
}

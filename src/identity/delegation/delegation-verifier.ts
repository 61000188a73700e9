/**
 * The front-door verifier once Custos issues tokens: a token whose (unverified) `iss` is
 * Custos itself is checked against Custos' own keys as a delegation access token; any other
 * goes to the issuer verifier. The unverified `iss` only picks the path: both verify fully.
 */
import { CustosError } from '../../kernel/index.js';
import type { Principal, TokenVerifier } from '../../kernel/index.js';
import { ACCESS_TOKEN_TYP, principalFromCustosClaims, verifyCustosToken } from './custos-tokens.js';
import type { CustosTokenContext } from './custos-tokens.js';
import { decodeUnverified } from '../verification/index.js';

export interface CustosTokenVerifierOptions extends CustosTokenContext {
  /** The Custos resource (the `aud` of delegation tokens), e.g. https://custos.example.com/mcp. */
  readonly audience: string;
}

/** Verifies a Custos-issued delegation access token into its Principal (credential, actors, scope). */
export async function verifyDelegationToken(options: CustosTokenVerifierOptions, token: string): Promise<Principal> {
  const payload = await verifyCustosToken(options, token, ACCESS_TOKEN_TYP, options.audience);
  const principal = principalFromCustosClaims(payload);
  if (principal.credential === undefined || principal.actors === undefined || principal.actors.length === 0) {
    throw new CustosError('ERR_IDENTITY_CLAIM_MISSING', 'The delegation token has no actor.', { detail: { claim: 'act' } });
  }
  return principal;
}

export function createCustosTokenVerifier(issuers: TokenVerifier, options: CustosTokenVerifierOptions): TokenVerifier {
  return {
    async verify(token: string): Promise<Principal> {
      const { payload } = decodeUnverified(token);
      if (payload.iss !== options.issuer) return issuers.verify(token);
      return verifyDelegationToken(options, token);
    },
  };
}

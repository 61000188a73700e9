/** Public types of the identity module. */
import type { Principal, TokenVerifier } from '../../kernel/index.js';

/** Where in a token's claims the principal's attributes live (dotted paths; a key containing dots is tried whole first). */
export interface ClaimMapping {
  /** e.g. `roles` (Entra ID), `realm_access.roles` (Keycloak), `https://example.com/roles` (Auth0). */
  readonly roles?: string;
  /** e.g. `groups` (Okta). */
  readonly groups?: string;
  readonly tenant?: string;
  /** Default `email`. */
  readonly email?: string;
  /** The client the token was issued to. Default `client_id`, else `azp`; Okta: `cid`. */
  readonly clientId?: string;
}

/** One trusted token issuer. */
export interface IssuerConfig {
  /** Must equal the token's `iss` exactly. */
  readonly issuer: string;
  /** The token's `aud` must include (one of) these: the Custos resource. */
  readonly audience: string | readonly string[];
  /** Else OIDC discovery at `issuer + '/.well-known/openid-configuration'`. */
  readonly jwksUri?: string;
  /** Default ['RS256', 'ES256', 'PS256', 'EdDSA']. `none` and HS* are refused at construction. */
  readonly algorithms?: readonly string[];
  /** Default 60. */
  readonly clockSkewSec?: number;
  /** When set, `iat` is required and must be no older than this. */
  readonly maxTokenAgeSec?: number;
  /** Claims that must be present (besides `sub`, always required). */
  readonly requiredClaims?: readonly string[];
  readonly claims?: ClaimMapping;
  /**
   * Client ids (`client_id`/`azp`) whose user tokens are the interactive tier. When set, a
   * token from any other client is refused at the front doors (ERR_IDENTITY_CLIENT_NOT_INTERACTIVE):
   * such clients act for users through token exchange. Absent: every user token is interactive.
   */
  readonly interactiveClients?: readonly string[];
}

/** A fetch for one issuer's discovery and JWKS. */
export type IssuerFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface TokenVerifierOptions {
  /** Milliseconds since epoch; defaults to Date.now. Used for exp/nbf/iat checks. */
  readonly clock?: () => number;
  /** Timeout of each discovery or JWKS fetch. Default 5000. */
  readonly fetchTimeoutMs?: number;
  /** How discovery and JWKS are fetched from each issuer (the app's secure fetch: CA, SPKI pins, checked address); default: the global fetch. */
  readonly fetchFor?: (issuer: string) => IssuerFetch | undefined;
  /** Minimum time between JWKS refetches triggered by an unknown kid. Default 30000 (jose's default). */
  readonly jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again. Default 600000 (jose's default). */
  readonly jwksCacheMaxAgeMs?: number;
  /**
   * Negative cache: after a failed or timed-out discovery or JWKS fetch, new tokens of that
   * issuer are refused at once (ERR_IDENTITY_JWKS_UNAVAILABLE) for this long, then one request
   * retries. Default 5000; 0 turns it off (every token waits its own fetch).
   */
  readonly jwksFailureRetryMs?: number;
  /**
   * Tokens that passed full verification are remembered (by the SHA-256 of the exact token)
   * and served again without a signature check while their time checks still pass, for at
   * most 60 s (or `jwksCacheMaxAgeMs` if shorter). This many at most (least recently used dropped first). Default
   * 10000; 0 turns it off. Revocation and session checks are not cached.
   */
  readonly verifiedTokenCacheSize?: number;
}

export interface ClosableTokenVerifier extends TokenVerifier {
  /** Verifies an agent's own credential (an actor token): same checks, without the interactive-client rule. */
  verifyActor(token: string): Promise<Principal>;
  /** Drops cached keys; later verify calls fail with ERR_IDENTITY_JWKS_UNAVAILABLE. */
  close(): void;
}

/** What an agent says about itself. Only `name`, `runtime` and `version` are taken as given. */
export interface DeclaredAgent {
  readonly name?: string;
  readonly runtime?: string;
  readonly version?: string;
  /** The HTTP client's `User-Agent` and the SDK its headers name (inventory). */
  readonly userAgent?: string;
  readonly sdk?: string;
  readonly tier?: string;
}

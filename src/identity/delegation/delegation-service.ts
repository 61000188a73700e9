/**
 * createDelegation: everything Custos needs to issue and accept its own tokens, from plain
 * settings (src/app maps the config onto them): the signing keys, the front-door verifier
 * that accepts Custos delegation tokens besides the issuers' tokens, and the token exchanger.
 */
import { CustosError } from '../../kernel/index.js';
import type { ControlPlaneRecorder, OfflineJournalPort, SessionGuard, TokenExchanger, TokenVerifier, UpstreamTokenIssuer } from '../../kernel/index.js';
import { createUpstreamTokenIssuer } from './upstream-tokens.js';
import { createIdpExchange } from './idp-exchange.js';
import type { IdpExchangeClient } from './idp-exchange.js';
import { createOfflineJournal, DEFAULT_FAILOPEN_TTL_SEC } from './offline-journal.js';
import { createCustosTokenVerifier } from './delegation-verifier.js';
import { createSigningKeyStore } from './signing-keys.js';
import type { SigningAlgorithm, SigningKeyStore } from './signing-keys.js';
import { createTokenExchanger, DEFAULT_DELEGATION_SETTINGS } from './token-exchange.js';
import type { DelegationSettings } from './token-exchange.js';
import type { ClosableTokenVerifier } from '../verification/index.js';
import type { GrantRegistry } from './background-grants.js';

export interface DelegationOptions {
  /** The verifier of the configured issuers. */
  readonly issuers: ClosableTokenVerifier;
  /** Their `iss` values: Custos' own issuer must differ from each. */
  readonly issuerUrls: readonly string[];
  /** Custos' public URL: the `iss` of the tokens it mints. */
  readonly issuer: string;
  /** The MCP resource URL: the `aud` of delegation tokens. */
  readonly resource: string;
  /** Where the token endpoint's rows go (src/app passes the pipeline). */
  readonly audit: ControlPlaneRecorder;
  readonly keys: { readonly dir?: string; readonly algorithm?: SigningAlgorithm; readonly rotateAfterSec?: number };
  readonly settings?: Partial<DelegationSettings>;
  /** Revocation and logoff of the subject's session (checked on every exchange), when sessions are tracked. */
  readonly sessions?: SessionGuard;
  /** Where background grants live (default: memory; src/app passes the session store's). */
  readonly grants?: GrantRegistry;
  readonly clock?: () => number;
  /** Custos' clients at the users' IdPs, for upstreams with `identity.mode: idp-exchange`. */
  readonly idpExchange?: readonly IdpExchangeClient[];
}

export interface Delegation {
  /** The front-door verifier: issuer tokens (interactive-client rule) and Custos delegation tokens. */
  readonly verifier: TokenVerifier;
  readonly tokens: TokenExchanger;
  readonly keys: SigningKeyStore;
  /** Audited fail-open: signs the SDK's fail-open metadata, verifies delivered offline journals. */
  readonly journal: OfflineJournalPort;
  /** The user's identity at the tool: tokens for HTTP upstreams configured with `identity`. */
  readonly upstreamTokens: UpstreamTokenIssuer;
}

export async function createDelegation(options: DelegationOptions): Promise<Delegation> {
  const issuer = options.issuer.replace(/\/+$/, '');
  if (options.issuerUrls.some((u) => u.replace(/\/+$/, '') === issuer)) {
    throw new CustosError('ERR_CONFIG_INVALID', "identity.issuers: Custos' own URL cannot also be a configured issuer");
  }
  const settings = { ...DEFAULT_DELEGATION_SETTINGS, ...options.settings };
  if (settings.grantDefaultTtlSec > settings.grantMaxTtlSec) {
    throw new CustosError('ERR_CONFIG_INVALID', 'identity.delegation.backgroundGrants: defaultTtlSec exceeds maxTtlSec');
  }
  const clock = options.clock ?? Date.now;
  const keys = await createSigningKeyStore({
    ...options.keys,
    // A retired key stays published while any token (or fail-open metadata) it signed may still be presented.
    retainSec: Math.max(settings.tokenTtlSec, settings.grantMaxTtlSec, DEFAULT_FAILOPEN_TTL_SEC) + settings.clockSkewSec,
    clock,
  });
  const verifier = createCustosTokenVerifier(options.issuers, { keys, issuer, audience: options.resource, clockSkewSec: settings.clockSkewSec, clock });
  const tokens = createTokenExchanger({
    issuer,
    resource: options.resource,
    keys,
    subjectVerifier: verifier,
    actorVerifier: (token) => options.issuers.verifyActor(token),
    audit: options.audit,
    settings,
    clock,
    ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
    ...(options.grants === undefined ? {} : { grants: options.grants }),
  });
  const journal = createOfflineJournal({ keys, issuer, clockSkewSec: settings.clockSkewSec, clock });
  const upstreamTokens = createUpstreamTokenIssuer({
    keys,
    issuer,
    clockSkewSec: settings.clockSkewSec,
    clock,
    idpExchange: createIdpExchange(options.idpExchange ?? []),
  });
  return { verifier, tokens, keys, journal, upstreamTokens };
}

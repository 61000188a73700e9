/** Validates issuer configuration at construction: a bad issuer list fails before any token is seen. */
import { CustosError } from '../../kernel/index.js';
import type { ClaimMapping, IssuerConfig } from './types.js';

export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'] as const;

/** Asymmetric JWS algorithms Custos accepts in an allow-list. `none` and HS* never. */
const SUPPORTED_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

export interface ResolvedIssuer {
  readonly issuer: string;
  readonly audience: readonly string[];
  readonly jwksUri?: string;
  readonly algorithms: readonly string[];
  readonly clockSkewSec: number;
  readonly maxTokenAgeSec?: number;
  readonly requiredClaims: readonly string[];
  readonly claims: Required<Pick<ClaimMapping, 'email'>> & ClaimMapping;
  readonly interactiveClients?: readonly string[];
}

function fail(problem: string): never {
  throw new CustosError('ERR_CONFIG_INVALID', `identity.issuers: ${problem}`);
}

function checkUrl(value: string, what: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${what} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`${what} must be an http(s) URL`);
}

function resolveAlgorithms(config: IssuerConfig, where: string): string[] {
  const algorithms = [...(config.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) fail(`${where}.algorithms is empty`);
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none' || /^HS/i.test(alg)) fail(`${where}.algorithms must not contain ${alg}`);
    if (!SUPPORTED_ALGORITHMS.has(alg)) fail(`${where}.algorithms contains unsupported ${alg}`);
  }
  return algorithms;
}

function checkSeconds(value: number | undefined, what: string): void {
  if (value !== undefined && (!Number.isFinite(value) || value < 0)) fail(`${what} must be a non-negative number`);
}

function resolveClients(clients: readonly string[], where: string): string[] {
  if (!Array.isArray(clients) || clients.length === 0 || clients.some((c) => typeof c !== 'string' || c === '')) {
    fail(`${where}.interactiveClients must be a non-empty list of client ids`);
  }
  return [...new Set(clients)];
}

export function resolveIssuer(config: IssuerConfig, index: number): ResolvedIssuer {
  const where = `[${index}]`;
  if (typeof config.issuer !== 'string' || config.issuer === '') fail(`${where}.issuer is required`);
  checkUrl(config.issuer, `${where}.issuer`);
  if (config.jwksUri !== undefined) checkUrl(config.jwksUri, `${where}.jwksUri`);
  const audience = typeof config.audience === 'string' ? [config.audience] : [...(config.audience ?? [])];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) {
    fail(`${where}.audience is required`);
  }
  checkSeconds(config.clockSkewSec, `${where}.clockSkewSec`);
  checkSeconds(config.maxTokenAgeSec, `${where}.maxTokenAgeSec`);
  return Object.freeze({
    issuer: config.issuer,
    audience: Object.freeze(audience),
    ...(config.jwksUri === undefined ? {} : { jwksUri: config.jwksUri }),
    algorithms: Object.freeze(resolveAlgorithms(config, where)),
    clockSkewSec: config.clockSkewSec ?? 60,
    ...(config.maxTokenAgeSec === undefined ? {} : { maxTokenAgeSec: config.maxTokenAgeSec }),
    requiredClaims: Object.freeze([...new Set(['sub', ...(config.requiredClaims ?? [])])]),
    claims: Object.freeze({ email: 'email', ...config.claims }),
    ...(config.interactiveClients === undefined ? {} : { interactiveClients: Object.freeze(resolveClients(config.interactiveClients, where)) }),
  });
}

export function resolveIssuers(configs: readonly IssuerConfig[]): ReadonlyMap<string, ResolvedIssuer> {
  if (!Array.isArray(configs) || configs.length === 0) fail('at least one issuer is required');
  const byIssuer = new Map<string, ResolvedIssuer>();
  configs.forEach((config, index) => {
    const resolved = resolveIssuer(config, index);
    if (byIssuer.has(resolved.issuer)) fail(`[${index}].issuer is configured twice`);
    byIssuer.set(resolved.issuer, resolved);
  });
  return byIssuer;
}

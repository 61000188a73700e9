/**
 * The outbound side as the config asks for it: each destination's connection settings (CA
 * file read, private addresses allowed for loopback URLs unless said otherwise), a secure
 * fetch per HTTP upstream, the model providers, a pin mismatch recorded as an `alert` row,
 * and the TLS audit of every configured destination (`custos tls-audit`).
 */
import { readFileSync } from 'node:fs';
import type { ResolvedConfig } from '../config/index.js';
import { CustosError } from '../kernel/index.js';
import type { ModelProviders, Pipeline, UpstreamConfig } from '../kernel/index.js';
import { isBlockedAddress } from '../protect/index.js';
import { createModelProviders, createSecureFetch, destinationOf, probeTls } from '../upstream/index.js';
import type { ConnectionSettings, PinMismatch, SecureFetch, TlsProbe } from '../upstream/index.js';
import { isLoopbackUrl } from '../config/index.js';

type ConnectionConfig = ResolvedConfig['upstreams'][number]['connection'];

/** A destination's settings: the CA file's PEM, pins, and whether a private address is allowed (default: for a loopback URL). */
export function connectionSettings(url: string, connection: ConnectionConfig, key: string): ConnectionSettings {
  let ca: string | undefined;
  if (connection.ca !== undefined) {
    try {
      ca = readFileSync(connection.ca, 'utf8');
    } catch {
      throw new CustosError('ERR_CONFIG_INVALID', `${key}.ca: cannot read ${connection.ca}; point it at a PEM file of the CA(s).`);
    }
  }
  return {
    ...(ca ? { ca } : {}),
    ...(connection.pins ? { pins: connection.pins } : {}),
    allowPrivateAddress: connection.allowPrivateAddress ?? isLoopbackUrl(url),
  };
}

/** Records a refused pin as an alert row (the destination, the pins expected and the one presented). */
export function recordPinMismatch(pipeline: () => Pipeline | undefined, destination: string, mismatch: PinMismatch): void {
  void pipeline()
    ?.recordAlert({
      type: 'tls_pin_mismatch',
      severity: 'high',
      detail: { destination, host: mismatch.host, expected_pins: [...mismatch.expected], presented_pin: mismatch.actual },
    })
    .catch(() => undefined); // the connection is refused either way
}

export interface Outbound {
  readonly upstreams: UpstreamConfig[];
  readonly models: ModelProviders | undefined;
  /** The secure fetch of each issuer (discovery and JWKS), by issuer URL. */
  issuerFetch(issuer: string): SecureFetch | undefined;
  close(): Promise<void>;
}

/** Upstreams with their secure fetch, and the model providers; pin mismatches go to `pipeline`. */
export function createOutbound(config: ResolvedConfig, pipeline: () => Pipeline | undefined): Outbound {
  const fetches: SecureFetch[] = [];
  const upstreams = config.upstreams.map((u, i): UpstreamConfig => {
    const base = { ...u, command: u.command === 'node' ? process.execPath : u.command };
    if (!u.url) return base;
    const fetch = createSecureFetch({
      connection: connectionSettings(u.url, u.connection, `upstreams[${i}].connection`),
      isBlockedAddress,
      onPinMismatch: (m) => recordPinMismatch(pipeline, destinationOf(u.url!), m),
    });
    fetches.push(fetch);
    return { ...base, fetch };
  });
  const issuerFetches = new Map(
    config.identity.issuers.map((s, i) => {
      const fetch = createSecureFetch({
        connection: connectionSettings(s.jwksUri ?? s.issuer, s.connection, `identity.issuers[${i}].connection`),
        isBlockedAddress,
        onPinMismatch: (m) => recordPinMismatch(pipeline, destinationOf(s.jwksUri ?? s.issuer), m),
      });
      fetches.push(fetch);
      return [s.issuer, fetch] as const;
    }),
  );
  const { providers } = config.llm;
  const models =
    providers.length === 0
      ? undefined
      : createModelProviders(
          providers.map((p, i) => ({ ...p, connection: connectionSettings(p.url, p.connection, `llm.providers[${i}].connection`) })),
          { isBlockedAddress, onPinMismatch: (name, m) => recordPinMismatch(pipeline, destinationOf(providers.find((p) => p.name === name)!.url), m) },
        );
  return {
    upstreams,
    models,
    issuerFetch: (issuer) => issuerFetches.get(issuer),
    close: async () => {
      await Promise.all(fetches.map((f) => f.close()));
      await models?.close();
    },
  };
}

export interface TlsAuditEntry extends TlsProbe {
  /** The config key of the destination, e.g. `upstreams[0].url`. */
  readonly key: string;
}

/** Probes every configured issuer, JWKS URI, HTTP upstream and model provider. */
export async function auditTls(config: ResolvedConfig, options: { timeoutMs?: number; now?: Date } = {}): Promise<TlsAuditEntry[]> {
  const targets: Array<{ key: string; url: string; connection: ConnectionConfig }> = [
    ...config.identity.issuers.flatMap((s, i) => [
      { key: `identity.issuers[${i}].issuer`, url: s.issuer, connection: s.connection },
      ...(s.jwksUri ? [{ key: `identity.issuers[${i}].jwksUri`, url: s.jwksUri, connection: s.connection }] : []),
    ]),
    ...config.upstreams.flatMap((u, i) => (u.url ? [{ key: `upstreams[${i}].url`, url: u.url, connection: u.connection }] : [])),
    ...config.llm.providers.map((p, i) => ({ key: `llm.providers[${i}].url`, url: p.url, connection: p.connection })),
  ];
  return Promise.all(targets.map(async (t) => ({ key: t.key, ...(await probeTls(t.url, connectionSettings(t.url, t.connection, t.key), options)) })));
}

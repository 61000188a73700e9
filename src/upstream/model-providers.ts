/**
 * The ModelProviders port over the secure fetch: one fetch per configured provider (its own
 * CA, pins and address rule), the provider's credential added here (never the caller's), the
 * answer streamed back as it arrives.
 */
import { CustosError } from '../kernel/index.js';
import type { ModelApi, ModelProviderInfo, ModelProviders, ModelRequest, ModelResponse } from '../kernel/index.js';
import { createSecureFetch } from './secure-fetch.js';
import type { ConnectionSettings, SecureFetchOptions } from './secure-fetch.js';

export interface ModelProviderConfig {
  readonly name: string;
  readonly api: ModelApi;
  /** Base URL; request paths (`/v1/...`) are appended. */
  readonly url: string;
  /** The provider's API key (resolved secret): `Authorization: Bearer` (openai) or `x-api-key` (anthropic). */
  readonly apiKey?: string;
  readonly connection?: ConnectionSettings;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** `scheme://host:port` of a URL. */
export function destinationOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || DEFAULT_PORTS[u.protocol]}`;
}

export function createModelProviders(
  configs: readonly ModelProviderConfig[],
  options: Omit<SecureFetchOptions, 'connection' | 'onPinMismatch'> & {
    readonly onPinMismatch?: (provider: string, m: Parameters<NonNullable<SecureFetchOptions['onPinMismatch']>>[0]) => void;
  },
): ModelProviders {
  const providers = new Map(
    configs.map((c) => [
      c.name,
      {
        config: c,
        info: Object.freeze({ name: c.name, api: c.api, destination: destinationOf(c.url) }) as ModelProviderInfo,
        fetch: createSecureFetch({ ...options, connection: c.connection, onPinMismatch: (m) => options.onPinMismatch?.(c.name, m) }),
      },
    ]),
  );

  async function send(request: ModelRequest): Promise<ModelResponse> {
    const p = providers.get(request.provider);
    if (!p) throw new CustosError('ERR_GATEWAY_NOT_FOUND');
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...request.headers };
    if (p.config.apiKey) {
      if (p.config.api === 'anthropic') headers['x-api-key'] = p.config.apiKey;
      else headers.authorization = `Bearer ${p.config.apiKey}`;
    }
    let response: Response;
    try {
      response = await p.fetch(`${p.config.url.replace(/\/$/, '')}${request.path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(request.body),
        redirect: 'error',
        signal: request.signal,
      });
    } catch (err) {
      throw new CustosError(pinOrBlocked(err) ?? 'ERR_GATEWAY_PROVIDER_FAILED', undefined, { cause: err });
    }
    const body = response.body ?? (async function* () {})();
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? 'application/octet-stream',
      body: body as AsyncIterable<Uint8Array>,
    };
  }

  return {
    get: (name) => providers.get(name)?.info,
    send,
    close: async () => void (await Promise.all([...providers.values()].map((p) => p.fetch.close()))),
  };
}

/** The refusal code inside a fetch error (`cause` chain), when the connection was refused for a pin or a blocked address. */
export function pinOrBlocked(err: unknown): 'ERR_UPSTREAM_TLS_PIN_MISMATCH' | 'ERR_UPSTREAM_ADDRESS_BLOCKED' | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_UPSTREAM_TLS_PIN_MISMATCH' || code === 'ERR_UPSTREAM_ADDRESS_BLOCKED') return code;
  }
  return undefined;
}

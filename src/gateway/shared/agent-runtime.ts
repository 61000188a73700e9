/**
 * What an agent's HTTP client says about its runtime, for the inventory (CC7.2: a current list
 * of agent runtimes): the `User-Agent` header (the MCP SDKs' HTTP clients, Custos' SDK, curl…)
 * and the Stainless SDK headers (`x-stainless-lang`, `-package-version`, `-runtime`,
 * `-runtime-version`) the OpenAI and Anthropic SDKs send. Context, never identity: the words
 * of the client, printable ASCII only, bounded.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface RuntimeHeaders {
  /** The `User-Agent` header. */
  readonly userAgent?: string;
  /** The SDK the Stainless headers name: `<lang> <package-version> (<runtime> <runtime-version>)`. */
  readonly sdk?: string;
}

const MAX = 256;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const text = (Array.isArray(v) ? v[0] : v)?.trim();
  return text && /^[\x20-\x7e]+$/.test(text) ? text.slice(0, MAX) : undefined;
}

export function runtimeHeadersOf(headers: IncomingHttpHeaders): RuntimeHeaders {
  const userAgent = header(headers, 'user-agent');
  const lang = header(headers, 'x-stainless-lang');
  const runtime = [header(headers, 'x-stainless-runtime'), header(headers, 'x-stainless-runtime-version')].filter(Boolean).join(' ');
  const sdk = lang
    ? [lang, header(headers, 'x-stainless-package-version'), runtime ? `(${runtime})` : undefined].filter(Boolean).join(' ').slice(0, MAX)
    : undefined;
  return { ...(userAgent ? { userAgent } : {}), ...(sdk ? { sdk } : {}) };
}

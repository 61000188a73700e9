/**
 * Config sections of where data goes and how it travels: the per-destination `connection`
 * settings of issuers, HTTP upstreams and model providers (CA, SPKI pins, plain HTTP and
 * private addresses allowed explicitly), `server.tls`, and the model-provider proxy (`llm`).
 * The rule that a non-loopback destination uses https:// is checked here, once.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const secretRef = z.string().regex(/^(env|file):.+$/, 'must be a secret reference (env:NAME or file:PATH), never an inline secret');

export const SPKI_PIN = /^sha256\/[A-Za-z0-9+/]{43}=$/;

export const connectionSchema = z
  .strictObject({
    ca: z.string().min(1).optional().describe('PEM file of the CA(s) that sign this destination (relative to the config file); default: the system CAs.'),
    pins: z
      .array(z.string().regex(SPKI_PIN, 'must be `sha256/` and the base64 SHA-256 of the certificate’s SubjectPublicKeyInfo (`custos tls-audit` prints it)'))
      .min(1)
      .optional()
      .describe(
        "SPKI pins: the leaf certificate's public key must hash to one of these, else the connection is refused and an `alert` row `tls_pin_mismatch` written. List the next key's pin before rotating.",
      ),
    allowHttp: z
      .boolean()
      .default(false)
      .describe('Allow an `http://` URL to a host that is not loopback (traffic and tokens in the clear). Off: such a URL is a config error.'),
    allowPrivateAddress: z
      .boolean()
      .optional()
      .describe(
        'May the name resolve to a private, loopback, link-local or metadata address (an internal service)? Default: yes for a loopback URL, else no. Custos connects to the address it checked (no second lookup: DNS rebinding cannot change it).',
      ),
  })
  .prefault({})
  .describe('How Custos connects to this destination: TLS 1.2 or later with verified certificates, always; these settings add to that.');

export const serverTlsSchema = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate chain file (relative to the config file).'),
    key: z.string().min(1).describe('PEM private key file (relative to the config file); keep it mode 0600.'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted.'),
  })
  .describe('Serve HTTPS with this certificate. Absent: plain HTTP (a loud warning when `host` is not loopback).');

export const llmSchema = z
  .strictObject({
    providers: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lowercase letters, digits and dashes')
            .describe('The provider name: its proxy is `/llm/NAME/v1/...`, its rows name tool server NAME (Cedar `resource.server`).'),
          api: z.enum(['openai', 'anthropic']).describe('`openai`: /v1/chat/completions and /v1/responses; `anthropic`: /v1/messages.'),
          url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).describe('Base URL (e.g. https://api.openai.com, https://api.anthropic.com).'),
          apiKey: secretRef
            .optional()
            .describe("The provider's API key, as a secret reference; callers never send it (they present their own token to Custos)."),
          connection: connectionSchema,
        }),
      )
      .default([])
      .describe('Model providers behind the proxy; each request is a `model` call through the pipeline (action `model_request`).'),
    pseudonyms: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe('Replace detected values with reversible `[redacted:TYPE#ID]` markers on the way out and restore them in the answer to the same user.'),
        ttlSec: z
          .number()
          .int()
          .min(60)
          .max(86_400)
          .default(3600)
          .describe('How long a pseudonym lives after its last use (in memory only, never in the trail).'),
      })
      .prefault({})
      .describe('Reversible pseudonyms on the model leg.'),
  })
  .prefault({})
  .describe('The model-provider proxy (OpenAI- and Anthropic-compatible).');

/** Is this URL's host loopback (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export interface PlainHttpIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** `http://` to a host that is not loopback, without `connection.allowHttp`: one issue naming the key and the fix. */
export function checkPlainHttp(url: string | undefined, path: readonly (string | number)[], connectionPath: string, allowHttp: boolean): PlainHttpIssue[] {
  if (url === undefined || allowHttp || !url.toLowerCase().startsWith('http:') || isLoopbackUrl(url)) return [];
  return [
    { path, message: `http:// to a host that is not loopback sends tokens and data in the clear: use https://, or set ${connectionPath}.allowHttp: true` },
  ];
}

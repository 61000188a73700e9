/**
 * One TLS handshake with a destination, for `custos tls-audit`: the negotiated protocol and
 * cipher, the certificate chain (subject, issuer, expiry), whether the chain verifies against
 * the destination's CAs, and the leaf's SPKI pin against the configured ones. The probe
 * completes the handshake even when verification fails, so it can say why; it sends nothing.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { DetailedPeerCertificate } from 'node:tls';
import { MIN_TLS_VERSION, spkiPin } from './secure-fetch.js';
import type { ConnectionSettings } from './secure-fetch.js';

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: string;
  readonly daysLeft: number;
}

export interface TlsProbe {
  readonly url: string;
  /** `TLSv1.3`, `TLSv1.2`, or `none` for plain HTTP. */
  readonly protocol: string;
  readonly cipher?: string;
  readonly chain: readonly CertificateSummary[];
  /** The chain verifies and names the host. */
  readonly verified: boolean;
  /** Why it does not (an OpenSSL code such as DEPTH_ZERO_SELF_SIGNED_CERT), or why the probe failed. */
  readonly error?: string;
  /** The leaf's `sha256/…` pin. */
  readonly pin?: string;
  /** null when no pins are configured. */
  readonly pinMatch: boolean | null;
}

function name(entity: Record<string, string | string[] | undefined> | undefined): string {
  if (!entity) return '';
  return Object.entries(entity)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}

function chainOf(leaf: DetailedPeerCertificate, now: Date): CertificateSummary[] {
  const out: CertificateSummary[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c && c.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    const validTo = new Date(c.valid_to);
    out.push({
      subject: name(c.subject as never),
      issuer: name(c.issuer as never),
      validTo: validTo.toISOString(),
      daysLeft: Math.floor((validTo.getTime() - now.getTime()) / 86_400_000),
    });
  }
  return out;
}

/** Probes `url` (https: a handshake; http: reported as plain). Never throws: a failure is `error`. */
export function probeTls(url: string, connection: ConnectionSettings = {}, options: { timeoutMs?: number; now?: Date } = {}): Promise<TlsProbe> {
  const u = new URL(url);
  const pins = connection.pins?.length ? connection.pins : undefined;
  if (u.protocol !== 'https:')
    return Promise.resolve({ url, protocol: 'none', chain: [], verified: false, error: 'plain_http', pinMatch: pins ? false : null });
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port: Number(u.port || 443),
      servername: isIP(host) === 0 ? host : undefined,
      minVersion: MIN_TLS_VERSION,
      rejectUnauthorized: false,
      ...(connection.ca ? { ca: connection.ca } : {}),
    });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), options.timeoutMs ?? 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const leaf = socket.getPeerCertificate(true);
      const identity = socket.authorized ? tls.checkServerIdentity(host, leaf) : undefined;
      const pin = leaf.raw ? spkiPin(leaf) : undefined;
      resolve({
        url,
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher().name,
        chain: chainOf(leaf, options.now ?? new Date()),
        verified: socket.authorized && identity === undefined,
        ...(socket.authorizationError ? { error: String(socket.authorizationError) } : identity ? { error: 'ERR_TLS_CERT_ALTNAME_INVALID' } : {}),
        ...(pin ? { pin } : {}),
        pinMatch: pins ? pin !== undefined && pins.includes(pin) : null,
      });
      socket.end();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ url, protocol: 'none', chain: [], verified: false, error: err.code ?? err.message, pinMatch: pins ? false : null });
    });
  });
}

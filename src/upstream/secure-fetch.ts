/**
 * Every connection Custos opens to an issuer, an HTTP upstream or a model provider goes
 * through one of these: a fetch bound to one destination's connection settings.
 *
 * - TLS: certificates verified (the system CAs, or the destination's `ca`), TLS 1.2 or later,
 *   and, with `pins`, the leaf's SPKI SHA-256 (`sha256/BASE64`) must be one of them: a
 *   mismatch refuses the connection (ERR_UPSTREAM_TLS_PIN_MISMATCH behind the fetch error)
 *   and calls `onPinMismatch` so the app records it.
 * - DNS: the name is resolved once per connection, the address checked (a blocked range —
 *   private, loopback, link-local, metadata — is refused unless `allowPrivateAddress`), and
 *   the connection made to that very address: nothing resolves the name again between the
 *   check and the use, so a DNS answer that changes (rebinding) cannot slip an internal
 *   address past the check.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { CustosError } from '../kernel/index.js';

/** A destination's connection settings (config `connection`), resolved: `ca` is PEM text. */
export interface ConnectionSettings {
  readonly ca?: string;
  /** `sha256/BASE64` of the leaf certificate's SubjectPublicKeyInfo. */
  readonly pins?: readonly string[];
  /** May the name resolve to a private, loopback or link-local address (an internal service)? */
  readonly allowPrivateAddress?: boolean;
}

export interface PinMismatch {
  readonly host: string;
  readonly expected: readonly string[];
  readonly actual: string;
}

export interface SecureFetchOptions {
  readonly connection?: ConnectionSettings;
  readonly onPinMismatch?: (mismatch: PinMismatch) => void;
  /** Resolves a name to its addresses (default: the system resolver); injectable for tests. */
  readonly resolve?: (host: string) => Promise<readonly LookupAddress[]>;
  /** Is this address in a blocked range (private, loopback, link-local, metadata)? */
  readonly isBlockedAddress: (address: string) => boolean;
}

export type SecureFetch = ((input: string | URL, init?: RequestInit) => Promise<Response>) & { close(): Promise<void> };

export const MIN_TLS_VERSION = 'TLSv1.2';

/** `sha256/BASE64` of a certificate's SubjectPublicKeyInfo (DER), the form `pins` take (HPKP's). */
export function spkiPin(cert: Pick<PeerCertificate, 'raw'>): string {
  const spki = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(spki).digest('base64')}`;
}

function systemResolve(host: string): Promise<readonly LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));
}

/** The checked-address lookup: resolve once, refuse blocked ranges unless allowed, hand net the address checked. */
function pinnedLookup(options: SecureFetchOptions): LookupFunction {
  const resolve = options.resolve ?? systemResolve;
  const allowPrivate = options.connection?.allowPrivateAddress === true;
  return (hostname, lookupOptions, callback) => {
    const reply = callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
    resolve(hostname)
      .then((addresses) => {
        const usable = addresses.filter((a) => allowPrivate || !options.isBlockedAddress(a.address));
        if (usable.length === 0) {
          const err: NodeJS.ErrnoException = new CustosError('ERR_UPSTREAM_ADDRESS_BLOCKED', `${hostname} resolves to no address Custos may connect to.`);
          err.code = 'ERR_UPSTREAM_ADDRESS_BLOCKED';
          reply(err, '', 0);
          return;
        }
        if (lookupOptions.all) reply(null, [...usable]);
        else reply(null, usable[0]!.address, usable[0]!.family);
      })
      .catch((err: NodeJS.ErrnoException) => reply(err, '', 0));
  };
}

/** A fetch for one destination: verified TLS ≥ 1.2, SPKI pins, the checked address pinned for the connection. */
export function createSecureFetch(options: SecureFetchOptions): SecureFetch {
  const { connection } = options;
  const pins = connection?.pins?.length ? connection.pins : undefined;
  const agent = new Agent({
    connect: {
      minVersion: MIN_TLS_VERSION,
      rejectUnauthorized: true,
      ...(connection?.ca ? { ca: connection.ca } : {}),
      lookup: pinnedLookup(options),
      checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
        const mismatch = checkServerIdentity(host, cert);
        if (mismatch) return mismatch;
        if (!pins) return undefined;
        const actual = spkiPin(cert);
        if (pins.includes(actual)) return undefined;
        options.onPinMismatch?.({ host, expected: pins, actual });
        return new CustosError('ERR_UPSTREAM_TLS_PIN_MISMATCH', `The certificate of ${host} does not match its configured pins.`);
      },
    },
  });
  // Literal addresses never go through lookup: check them here.
  const secureFetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const host = new URL(String(input)).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && connection?.allowPrivateAddress !== true && options.isBlockedAddress(host))
      throw new CustosError('ERR_UPSTREAM_ADDRESS_BLOCKED', `${host} is an address Custos may not connect to.`);
    return (await undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as Response;
  };
  return Object.assign(secureFetch, { close: () => agent.close() });
}

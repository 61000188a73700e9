/**
 * The source a request is counted against by the auth-failure limiter. It is the socket
 * peer, unless the peer is a configured trusted proxy: then it is the right-most address of
 * `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the peer it saw,
 * so everything left of that address was written by the client and can be forged).
 * IPv6 sources are counted per /64, the block one subscriber usually holds.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export type SourceOf = (req: IncomingMessage) => string;

/** Counted when the peer address is unknown (a closed socket). */
const UNKNOWN_SOURCE = 'unknown';

/** `10.0.0.0/8`, `2001:db8::/32` or a single address; throws on anything else. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits, extra] = text.trim().split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (version === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new Error(`not an IP address or CIDR block: ${JSON.stringify(text)}`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** `::ffff:192.0.2.1` is the IPv4 peer 192.0.2.1 on a dual-stack socket. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** The key an address is counted under: IPv4 as is, IPv6 as its /64 block. */
export function sourceKey(address: string): string {
  const ip = normalize(address);
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => (parseInt(g, 16) || 0).toString(16));
}

function createTrustList(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const { address, prefix, family } = parseCidr(cidr);
    list.addSubnet(address, prefix, family);
  }
  return (address) => {
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/** The X-Forwarded-For entries, left to right, across repeated headers. */
function forwardedFor(req: IncomingMessage): string[] {
  const raw = req.headers['x-forwarded-for'];
  const joined = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  return joined
    .split(',')
    .map((s) => normalize(s.trim()))
    .filter((s) => s.length > 0);
}

/** The client address: walking X-Forwarded-For from the right, the first hop that is not a trusted proxy. */
function clientAddress(peer: string, hops: readonly string[], trusted: (address: string) => boolean): string {
  let last = peer;
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i]!;
    // An entry that is not an address was not written by a proxy we trust: count the hop that relayed it.
    if (isIP(hop) === 0) return last;
    if (!trusted(hop)) return hop;
    last = hop;
  }
  return last;
}

export function createSourceOf(trustedProxies: readonly string[] = []): SourceOf {
  const trusted = createTrustList(trustedProxies);
  return (req) => {
    const peer = req.socket.remoteAddress === undefined ? undefined : normalize(req.socket.remoteAddress);
    if (peer === undefined) return UNKNOWN_SOURCE;
    if (trustedProxies.length === 0 || !trusted(peer)) return sourceKey(peer);
    return sourceKey(clientAddress(peer, forwardedFor(req), trusted));
  };
}

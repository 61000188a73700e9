/**
 * The EgressGuard (a kernel port): finds the destinations a call names and checks each
 * against the bundle's allow-list, after DNS resolution.
 *
 * Destinations: the values of the argument names the catalog marks (`urls`: URLs; `hosts`:
 * `host` or `host:port`), at any depth; and for a tool classed `egress`, every URL-shaped
 * substring of every string in the arguments. A marked value that is not a URL (or host) is
 * unresolvable: denied, never guessed. Past MAX_DESTINATIONS the call is denied whole.
 *
 * Each destination, in order: an address literal in a blocked range (private, loopback,
 * link-local — cloud metadata 169.254.169.254 among them —, CGNAT, multicast, reserved, and
 * their IPv6 and IPv4-mapped forms) → egress_private_address unless a matching rule has
 * `allowPrivate`; no rule matches scheme, host and port → egress_not_allowed; the name does
 * not resolve → egress_unresolvable; any address it resolves to is blocked →
 * egress_private_address. The resolver is injectable; the default asks the system resolver
 * (so `localhost` resolves from /etc/hosts, without network) within a bounded wait.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DENY_REASONS, EGRESS_CLASS, EGRESS_MARKERS } from '../kernel/index.js';
import type { EgressGuard, EgressRefusal, EgressRequest, EgressRule, EgressVerdict } from '../kernel/index.js';

/** Resolves a host name to every address it has. */
export type HostResolver = (host: string) => Promise<readonly string[]>;

export interface EgressGuardOptions {
  /** Default: the system resolver (`dns.lookup`, all addresses). */
  readonly resolve?: HostResolver;
  /** Longest wait for one resolution (default 3 s); past it the destination is unresolvable. */
  readonly resolveTimeoutMs?: number;
}

/** Most destinations one call may name; past it the call cannot be checked whole and is denied. */
export const MAX_DESTINATIONS = 64;

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>\\^`{|}]+/gi;

/** Ranges no destination may resolve to unless a rule allows private addresses. */
const BLOCKED: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], // "this network", unspecified
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // CGNAT (Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'], // NAT64 of any IPv4 address
  ['fc00::', 7, 'ipv6'], // unique local (AWS metadata fd00:ec2::254)
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const blocked = new BlockList();
for (const [address, prefix, type] of BLOCKED) blocked.addSubnet(address, prefix, type);

/** Is this address (IPv4, IPv6, IPv4-mapped IPv6) in a private, loopback, link-local, metadata or reserved range? */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const version = isIP(bare);
  if (version === 0) return true; // not an address: never trusted
  return blocked.check(bare, version === 4 ? 'ipv4' : 'ipv6');
}

interface Destination {
  /** Absent for a `hosts` argument: any scheme. */
  readonly scheme?: string;
  readonly host: string;
  readonly port?: number;
  /** `scheme://host:port` as recorded. */
  readonly label: string;
}

/** A value that names no destination Custos can check; its label never quotes the value (it may carry a secret). */
class Unparseable extends Error {
  constructor(readonly label: string = EGRESS_MARKERS.UNPARSEABLE) {
    super('unparseable destination');
  }
}

function fromUrl(text: string): Destination {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Unparseable();
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === '') throw new Unparseable();
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  return { scheme, host, port, label: `${scheme}://${host}${port === undefined ? '' : `:${port}`}` };
}

function fromHost(text: string): Destination {
  const d = fromUrl(`tcp://${text.trim()}`);
  return { host: d.host, port: d.port, label: d.port === undefined ? d.host : `${d.host}:${d.port}` };
}

/** Every destination the call names, in the order found; throws Unparseable for a marked value that is not one. */
function findDestinations(request: EgressRequest): Destination[] {
  const urls = new Set(request.classification.urls ?? []);
  const hosts = new Set(request.classification.hosts ?? []);
  const scanAll = request.classification.classes.includes(EGRESS_CLASS);
  const found = new Map<string, Destination>();
  const add = (d: Destination): void => {
    if (!found.has(d.label)) found.set(d.label, d);
    if (found.size > MAX_DESTINATIONS) throw new Unparseable(EGRESS_MARKERS.TOO_MANY);
  };
  const stack: Array<{ value: unknown; mark?: 'url' | 'host' }> = [{ value: request.call.arguments }];
  while (stack.length > 0) {
    const { value, mark } = stack.pop()!;
    if (typeof value === 'string') {
      if (mark === 'url') add(fromUrl(value.trim()));
      else if (mark === 'host') add(fromHost(value));
      else if (scanAll) for (const m of value.matchAll(URL_IN_TEXT)) add(fromUrl(m[0].replace(/[.,;:!?)\]]+$/, '')));
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, mark });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) stack.push({ value: item, mark: urls.has(key) ? 'url' : hosts.has(key) ? 'host' : mark });
    }
  }
  return [...found.values()];
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern.replace(/^\[|\]$/g, '') === host.replace(/^\[|\]$/g, '');
}

function ruleMatches(rule: EgressRule, d: Destination): boolean {
  if (d.scheme !== undefined && !rule.schemes.includes(d.scheme)) return false;
  if (!rule.hosts.some((p) => hostMatches(p, d.host))) return false;
  if (d.port === undefined) return true;
  return rule.ports ? rule.ports.includes(d.port) : d.scheme === undefined || DEFAULT_PORTS[d.scheme] === d.port;
}

async function systemResolve(host: string): Promise<readonly string[]> {
  const addresses = await lookup(host, { all: true, verbatim: true });
  return addresses.map((a) => a.address);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('resolution timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createEgressGuard(options: EgressGuardOptions = {}): EgressGuard {
  const resolve = options.resolve ?? systemResolve;
  const timeoutMs = options.resolveTimeoutMs ?? 3000;

  async function refusalOf(d: Destination, rules: readonly EgressRule[]): Promise<EgressRefusal | undefined> {
    const matching = rules.filter((r) => ruleMatches(r, d));
    const privateAllowed = matching.some((r) => r.allowPrivate === true);
    const literal = d.host.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0 && isBlockedAddress(literal) && !privateAllowed) return DENY_REASONS.EGRESS_PRIVATE_ADDRESS;
    if (matching.length === 0) return DENY_REASONS.EGRESS_NOT_ALLOWED;
    if (isIP(literal) !== 0) return undefined;
    let addresses: readonly string[];
    try {
      addresses = await withTimeout(resolve(d.host), timeoutMs);
    } catch {
      return DENY_REASONS.EGRESS_UNRESOLVABLE;
    }
    if (addresses.length === 0) return DENY_REASONS.EGRESS_UNRESOLVABLE;
    if (!privateAllowed && addresses.some(isBlockedAddress)) return DENY_REASONS.EGRESS_PRIVATE_ADDRESS;
    return undefined;
  }

  return {
    async check(request: EgressRequest): Promise<EgressVerdict> {
      let destinations: Destination[];
      try {
        destinations = findDestinations(request);
      } catch (err) {
        if (!(err instanceof Unparseable)) throw err;
        return { destinations: [], denied: { destination: err.label, reason: DENY_REASONS.EGRESS_UNRESOLVABLE } };
      }
      const labels = destinations.map((d) => d.label);
      for (const d of destinations) {
        const reason = await refusalOf(d, request.rules.allow);
        if (reason) return { destinations: labels, denied: { destination: d.label, reason } };
      }
      return { destinations: labels };
    },
  };
}

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createSourceOf, parseCidr, sourceKey } from './client-address.js';

function request(peer: string | undefined, forwarded?: string | string[]): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } } as unknown as IncomingMessage;
}

describe('the source of a request (X-Forwarded-For only from a trusted proxy)', () => {
  it('is the socket peer, and ignores X-Forwarded-For, when no proxy is trusted', () => {
    const sourceOf = createSourceOf([]);
    expect(sourceOf(request('198.51.100.7'))).toBe('198.51.100.7');
    expect(sourceOf(request('198.51.100.7', '203.0.113.9'))).toBe('198.51.100.7');
  });

  it('refuses a spoofed X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const sourceOf = createSourceOf(['10.0.0.0/8']);
    // The attacker rotates the header on every request: they remain one source.
    for (const spoof of ['1.1.1.1', '2.2.2.2', '10.0.0.1', 'garbage']) expect(sourceOf(request('198.51.100.7', spoof))).toBe('198.51.100.7');
  });

  it('behind a trusted proxy is the right-most untrusted address, so clients of one balancer are not one source', () => {
    const sourceOf = createSourceOf(['10.0.0.0/8']);
    expect(sourceOf(request('10.0.0.5', '203.0.113.9'))).toBe('203.0.113.9');
    expect(sourceOf(request('10.0.0.5', '203.0.113.10'))).toBe('203.0.113.10');
    // A client that writes its own header cannot pick its source: the proxy appended the real peer.
    expect(sourceOf(request('10.0.0.5', '1.2.3.4, 203.0.113.9'))).toBe('203.0.113.9');
  });

  it('skips a chain of trusted proxies, across repeated headers', () => {
    const sourceOf = createSourceOf(['10.0.0.0/8', '192.0.2.10']);
    expect(sourceOf(request('10.0.0.5', '6.6.6.6, 203.0.113.9, 192.0.2.10, 10.1.1.1'))).toBe('203.0.113.9');
    expect(sourceOf(request('10.0.0.5', ['6.6.6.6, 203.0.113.9', '10.1.1.1']))).toBe('203.0.113.9');
  });

  it('counts the last trusted hop when the header is all trusted, missing or not an address', () => {
    const sourceOf = createSourceOf(['10.0.0.0/8']);
    expect(sourceOf(request('10.0.0.5'))).toBe('10.0.0.5');
    expect(sourceOf(request('10.0.0.5', '10.9.9.9, 10.0.0.4'))).toBe('10.9.9.9');
    expect(sourceOf(request('10.0.0.5', 'not-an-ip, 10.0.0.4'))).toBe('10.0.0.4');
    expect(sourceOf(request('10.0.0.5', '203.0.113.9, <script>'))).toBe('10.0.0.5');
  });

  it('maps IPv4 on a dual-stack socket and counts IPv6 per /64', () => {
    const sourceOf = createSourceOf(['::ffff:10.0.0.0/104', '2001:db8:ffff::/48']);
    expect(sourceOf(request('::ffff:198.51.100.7'))).toBe('198.51.100.7');
    expect(sourceOf(request('2001:db8:1:2:aaaa::1'))).toBe('2001:db8:1:2::/64');
    expect(sourceOf(request('2001:db8:1:2:bbbb::2'))).toBe('2001:db8:1:2::/64');
    expect(sourceOf(request('2001:db8:ffff::1', '2001:db8:1:3::9'))).toBe('2001:db8:1:3::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceOf(request(undefined))).toBe('unknown');
  });

  it('accepts addresses and CIDR blocks and refuses anything else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    expect(parseCidr('192.0.2.7')).toEqual({ address: '192.0.2.7', prefix: 32, family: 'ipv4' });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', 'example.com', '10.0.0.0/8/8', '', '10.0.0.0/']) expect(() => parseCidr(bad)).toThrow();
  });
});

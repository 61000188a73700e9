/**
 * Test support (not exported from index.ts): a local JWKS served by node:http on
 * 127.0.0.1:0, whose key set can be changed at run time, and a token signer.
 */
import { KeyObject, sign as nodeSign } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function createTestKey(kid: string, alg = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Replaces the served key set. */
  setKeys(keys: readonly TestKey[]): void;
  /** When true, requests to the JWKS (and discovery) are accepted and never answered. */
  setHang(hang: boolean): void;
  readonly jwksRequests: () => number;
  /** Every request for the JWKS, answered or hung. */
  readonly jwksAttempts: () => number;
  close(): Promise<void>;
}

export async function startTestIssuer(keys: readonly TestKey[]): Promise<TestIssuer> {
  let served = [...keys];
  let hang = false;
  let requests = 0;
  let attempts = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks') attempts += 1;
    if (hang) return; // never answer
    if (req.url === '/jwks') {
      requests += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: served.map((k) => k.publicJwk) }));
    } else if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    setKeys: (next) => {
      served = [...next];
    },
    setHang: (value) => {
      hang = value;
    },
    jwksRequests: () => requests,
    jwksAttempts: () => attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Signs claims with sensible defaults: iat now, exp in 5 minutes. */
export async function signTestToken(key: TestKey, claims: JWTPayload, options: { header?: Record<string, unknown>; nowSec?: number } = {}): Promise<string> {
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
    .sign(key.privateKey);
}

/** Builds a compact JWS by hand (no jose checks), so tests can forge headers jose would refuse to sign. */
export function forgeToken(header: Record<string, unknown>, payload: Record<string, unknown>, sign: (input: string) => string): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${sign(input)}`;
}

/** An ES256 signature (IEEE P1363, as JWS wants) over `input` with a test key. */
export function signEs256(key: TestKey): (input: string) => string {
  const keyObject = KeyObject.from(key.privateKey);
  return (input) => nodeSign('sha256', Buffer.from(input), { key: keyObject, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

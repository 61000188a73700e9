/**
 * `npm run bench -- identity`:
 *  1. token verifications (createTokenVerifier: size, shape, alg allow-list, signature,
 *     registered claims, claim mapping) per second and their p99, RS256 and ES256, with a
 *     warm JWKS cache (the JWKS is served over HTTP on 127.0.0.1 and fetched once);
 *  2. an RFC 8693 token exchange round trip over HTTP against `custos serve` (the harness,
 *     out of process): verify the user's token and the agent's, mint, write the durable
 *     admin row, answer — with tokens from the real dev OIDC provider.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createTokenVerifier } from '../src/identity/index.js';
import { startHarness } from '../test/e2e/harness.js';
import { formatMs, summarize, time } from './stats.js';

const N = Number(process.env.BENCH_N ?? 5000);
const EXCHANGES = Number(process.env.BENCH_EXCHANGES ?? 500);
const AUDIENCE = 'http://127.0.0.1/mcp';

async function serveJwks(jwks: unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function benchVerify(alg: 'RS256' | 'ES256'): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwks = await serveJwks({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }] });
  const issuer = jwks.url;
  const verifier = createTokenVerifier([{ issuer, audience: AUDIENCE, jwksUri: `${jwks.url}/jwks`, algorithms: [alg], claims: { roles: 'roles' } }]);
  try {
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        new SignJWT({ sub: `user-${i}`, roles: ['clinician'], email: `u${i}@example.test`, sid: `s${i}`, scope: 'openid mcp', client_id: 'cli' })
          .setProtectedHeader({ alg, kid: 'k1', typ: 'at+jwt' })
          .setIssuer(issuer)
          .setAudience(AUDIENCE)
          .setIssuedAt(now)
          .setExpirationTime(now + 3600)
          .setJti(`jti-${i}`)
          .sign(privateKey),
      ),
    );
    for (let i = 0; i < 500; i++) await verifier.verify(tokens[i % tokens.length]!); // warm: JWKS fetched, JIT warm
    const samples: number[] = [];
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) samples.push(await time(() => verifier.verify(tokens[i % tokens.length]!)));
    const totalSec = Number(process.hrtime.bigint() - start) / 1e9;
    const s = summarize(samples);
    return `| ${alg} verify (warm JWKS) | ${Math.round(N / totalSec)} /s | ${formatMs(s.p50)} | ${formatMs(s.p99)} |`;
  } finally {
    verifier.close();
    await jwks.close();
  }
}

async function benchExchange(): Promise<string> {
  const h = await startHarness({ tap: false, outOfProcess: true });
  try {
    const [alice, agent] = await Promise.all([h.token('alice'), h.agentToken('research-agent')]);
    const form = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: alice,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      actor_token: agent,
      actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    }).toString();
    const once = async (): Promise<void> => {
      const response = await fetch(`${h.custos.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      if (response.status !== 200) throw new Error(`exchange answered ${response.status}`);
      await response.json();
    };
    for (let i = 0; i < 50; i++) await once();
    const samples: number[] = [];
    const start = process.hrtime.bigint();
    for (let i = 0; i < EXCHANGES; i++) samples.push(await time(once));
    const totalSec = Number(process.hrtime.bigint() - start) / 1e9;
    const s = summarize(samples);
    return `| token exchange over HTTP (2 verifications, ES256 mint, durable admin row) | ${Math.round(EXCHANGES / totalSec)} /s | ${formatMs(s.p50)} | ${formatMs(s.p99)} |`;
  } finally {
    await h.close();
  }
}

export async function run(): Promise<void> {
  const rows = [await benchVerify('RS256'), await benchVerify('ES256'), await benchExchange()];
  console.log(`identity benchmark: ${N} verifications per algorithm (sequential, 200 distinct tokens), ${EXCHANGES} token exchanges (sequential)`);
  console.log('| operation | throughput | p50 | p99 |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
}

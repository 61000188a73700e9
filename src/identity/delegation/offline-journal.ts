/**
 * Audited fail-open, Custos' side (docs/api.md#audited-fail-open). While reachable, Custos signs
 * fail-open metadata for a user and the SDK's journal key: the bundle in force, the tools it
 * declares `failOpen`, the user and the agent's derived tier. During an outage the SDK signs
 * each journal entry (a compact JWS, EdDSA, with that key) before the tool runs, each entry
 * chained to the one before by SHA-256. A delivery is verified whole or refused whole:
 * Custos' signature on the metadata, the deliverer being its user, the key's thumbprint, every
 * entry's signature, the chain, the tool in the fail-open list, the times in the metadata's
 * validity. Entries carry only SHA-256 digests of arguments and outputs.
 */
import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, importJWK, SignJWT } from 'jose';
import type { CompactJWSHeaderParameters, JWK } from 'jose';

type KeyLike = Awaited<ReturnType<typeof importJWK>>;
import { z } from 'zod';
import { CustosError } from '../../kernel/index.js';
import type { FailOpenAttestation, OfflineEntry, OfflineJournalPort, Principal, VerifiedJournal } from '../../kernel/index.js';
import type { SigningKeyStore } from './signing-keys.js';

export const FAILOPEN_METADATA_TYP = 'custos-failopen+jwt';
export const JOURNAL_ENTRY_TYP = 'custos-journal+jws';
/** How long signed fail-open metadata lets the SDK run declared tools without Custos (default). */
export const DEFAULT_FAILOPEN_TTL_SEC = 24 * 3600;
const MAX_ENTRIES = 1000;
const HEX64 = /^[0-9a-f]{64}$/;

export interface OfflineJournalOptions {
  readonly keys: SigningKeyStore;
  /** Custos' public URL: the metadata's `iss`; its `aud` is `<issuer>/v1/failopen`. */
  readonly issuer: string;
  readonly clockSkewSec: number;
  /** Milliseconds since epoch. */
  readonly clock: () => number;
  readonly ttlSec?: number;
}

const iso = z.iso.datetime({ offset: true });
const entrySchema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().min(1),
  prev: z.string().regex(HEX64),
  phase: z.enum(['intent', 'result']),
  request_id: z.string().min(1).max(128),
  time: iso,
  outage_started: iso,
  tool: z.strictObject({ server: z.string().min(1).max(128), name: z.string().min(1).max(128) }),
  agent: z.string().min(1).max(128),
  sha256: z.string().regex(HEX64),
  error: z.boolean().optional(),
  metadata: z.string().min(1).max(128),
});
const deliverySchema = z.strictObject({
  metadata: z.string().min(1).max(16_384),
  journal_key: z.record(z.string(), z.unknown()),
  entries: z.array(z.string().min(1).max(8192)).min(1).max(MAX_ENTRIES),
  outage_ended: iso,
});
const metadataSchema = z.object({
  iss: z.string(),
  aud: z.string(),
  sub: z.string().min(1),
  jti: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  user_iss: z.string().min(1),
  email: z.string().optional(),
  tenant: z.string().optional(),
  tier: z.enum(['interactive', 'subagent', 'background', 'api']),
  chain: z.array(z.string()),
  bundle_hash: z.string().min(1),
  fail_open: z.array(z.string()),
  journal_key: z.string().min(1),
});
type Metadata = z.infer<typeof metadataSchema>;

function invalid(problem: string): never {
  throw new CustosError('ERR_IDENTITY_JOURNAL_INVALID', `offline journal refused: ${problem}`, { detail: { problem } });
}

/** A public Ed25519 JWK (no private part) and its RFC 7638 thumbprint. */
async function readJournalKey(jwk: unknown): Promise<{ key: KeyLike; thumbprint: string }> {
  const k = jwk as Record<string, unknown> | null;
  if (typeof k !== 'object' || k === null || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || 'd' in k) {
    invalid('journal_key must be a public Ed25519 JWK');
  }
  const clean: JWK = { kty: 'OKP', crv: 'Ed25519', x: k.x };
  try {
    return { key: await importJWK(clean, 'EdDSA'), thumbprint: await calculateJwkThumbprint(clean) };
  } catch {
    return invalid('journal_key does not import');
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

export function createOfflineJournal(options: OfflineJournalOptions): OfflineJournalPort {
  const issuer = options.issuer.replace(/\/+$/, '');
  const audience = `${issuer}/v1/failopen`;
  const ttlSec = options.ttlSec ?? DEFAULT_FAILOPEN_TTL_SEC;
  const skewMs = options.clockSkewSec * 1000;

  async function verifyMetadata(token: string): Promise<Metadata> {
    const getKey = async (header: CompactJWSHeaderParameters) => {
      const found = typeof header.kid === 'string' ? await options.keys.verificationKey(header.kid) : undefined;
      if (!found || header.alg !== found.alg || header.typ !== FAILOPEN_METADATA_TYP) invalid('the metadata is not signed by Custos');
      return found.key;
    };
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, getKey));
    } catch (err) {
      if (err instanceof CustosError) throw err;
      return invalid('the metadata signature does not verify');
    }
    const parsed = metadataSchema.safeParse(parseJson(payload));
    if (!parsed.success || parsed.data.iss !== issuer || parsed.data.aud !== audience) invalid('the metadata is not Custos fail-open metadata');
    return parsed.data;
  }

  async function verifyEntries(meta: Metadata, key: KeyLike, thumbprint: string, tokens: readonly string[], outageEnded: string): Promise<OfflineEntry[]> {
    const failOpen = new Set(meta.fail_open);
    const now = options.clock();
    const ended = Date.parse(outageEnded);
    if (ended > now + skewMs) invalid('outage_ended is in the future');
    const entries: OfflineEntry[] = [];
    let previous: { seq: number; hash: string } | undefined;
    for (const token of tokens) {
      let verified: Awaited<ReturnType<typeof compactVerify>>;
      try {
        verified = await compactVerify(token, key, { algorithms: ['EdDSA'] });
      } catch {
        return invalid(`entry ${entries.length + 1}: the signature does not verify with the journal key`);
      }
      if (verified.protectedHeader.typ !== JOURNAL_ENTRY_TYP) invalid(`entry ${entries.length + 1}: not a journal entry`);
      const parsed = entrySchema.safeParse(parseJson(verified.payload));
      if (!parsed.success) return invalid(`entry ${entries.length + 1}: malformed`);
      const e = parsed.data;
      if (e.metadata !== meta.jti) invalid(`entry ${e.seq}: written under other metadata`);
      if (previous && (e.seq !== previous.seq + 1 || e.prev !== previous.hash)) invalid(`entry ${e.seq}: breaks the journal chain`);
      if (!failOpen.has(`${e.tool.server}/${e.tool.name}`)) invalid(`entry ${e.seq}: ${e.tool.server}/${e.tool.name} is not declared fail-open`);
      const time = Date.parse(e.time);
      const from = Date.parse(e.outage_started);
      if (time < meta.iat * 1000 - skewMs || time > meta.exp * 1000 + skewMs) invalid(`entry ${e.seq}: written outside the metadata's validity`);
      if (from > time || time > ended + skewMs) invalid(`entry ${e.seq}: outside its outage window`);
      const hash = sha256Hex(token);
      entries.push({
        phase: e.phase,
        requestId: e.request_id,
        occurredAt: e.time,
        tool: e.tool,
        agentName: e.agent,
        sha256: e.sha256,
        ...(e.error === undefined ? {} : { error: e.error }),
        journal: { keyThumbprint: thumbprint, seq: e.seq, entryHash: hash },
        outage: { from: e.outage_started, to: outageEnded },
      });
      previous = { seq: e.seq, hash };
    }
    return entries;
  }

  return {
    async issueMetadata(a: FailOpenAttestation) {
      const { thumbprint } = await readJournalKey(a.journalKey);
      const active = await options.keys.signingKey();
      const iat = Math.floor(options.clock() / 1000);
      const exp = iat + ttlSec;
      const p: Principal = a.principal;
      const metadata = await new SignJWT({
        user_iss: p.iss,
        ...(p.email === undefined ? {} : { email: p.email }),
        ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
        tier: a.agent.tier,
        chain: [...a.agent.delegationChain],
        bundle_hash: a.bundleHash,
        fail_open: [...a.failOpenTools],
        journal_key: thumbprint,
      })
        .setProtectedHeader({ alg: active.alg, kid: active.kid, typ: FAILOPEN_METADATA_TYP })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(p.sub)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(active.key);
      return { metadata, expiresAt: exp };
    },

    async verifyDelivery(principal: Principal, body: unknown): Promise<VerifiedJournal> {
      const parsed = deliverySchema.safeParse(body);
      if (!parsed.success) return invalid('the body must be { metadata, journal_key, entries[1..1000], outage_ended }');
      const delivery = parsed.data;
      const meta = await verifyMetadata(delivery.metadata);
      if (meta.sub !== principal.sub || meta.user_iss !== principal.iss) invalid('the metadata was issued for another user');
      const { key, thumbprint } = await readJournalKey(delivery.journal_key);
      if (thumbprint !== meta.journal_key) invalid('the journal key is not the one the metadata names');
      const entries = await verifyEntries(meta, key, thumbprint, delivery.entries, delivery.outage_ended);
      const user: Principal = {
        sub: meta.sub,
        iss: meta.user_iss,
        roles: [],
        groups: [],
        ...(meta.email === undefined ? {} : { email: meta.email }),
        ...(meta.tenant === undefined ? {} : { tenant: meta.tenant }),
      };
      return { principal: user, agent: { tier: meta.tier, delegationChain: meta.chain }, bundleHash: meta.bundle_hash, entries };
    },
  };
}

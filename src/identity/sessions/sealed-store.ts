/**
 * Encryption at rest of the session store, with the key registry's `encrypt` key that seals
 * the audit trail (`audit.encryption.key`). The user identifiers it holds (`sub`, `sid`, the
 * activity key, a grant's closer, a background grant's scopes) are stored sealed; issuers,
 * grant ids, client ids and times stay in clear.
 *
 * Envelope: one random 32-byte data key per store, wrapped under the registry key and kept in
 * `custos_session_meta` (`{"schema":"custos.session-sealing/v1","kid","dek"}`), shared by
 * every replica of a PostgreSQL store. Values are sealed deterministically (AES-256-GCM with a
 * synthetic IV: the first 12 bytes of HMAC-SHA256 over the value, under a key derived from
 * the data key), so equal identifiers give equal ciphertexts and the stores' lookups and
 * primary keys work unchanged; what leaks is only equality. Rotating the registry key rewraps
 * the data key at the next start (the old key must still be registered then).
 *
 * Fail closed: a sealed store opened without keys, a data key that does not unwrap (another
 * key under that id), a value that does not authenticate, or a store that already holds rows
 * written in clear, is refused with an error naming the key id, never read as if empty.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { CustosError } from '../../kernel/index.js';
import type { BackgroundGrantRow, EmergencyGrantRow, SessionMeta, SessionStore } from './types.js';

/** A key-encryption key of the registry (structurally the keys module's EncryptionKey). */
export interface SessionWrapKey {
  readonly id: string;
  wrap(plain: Buffer): Buffer;
  unwrap(blob: Buffer): Buffer;
}

/** The key new envelopes are wrapped under, and every registered key by id (the keys module's recordKeysOf). */
export interface SessionKeys {
  readonly active?: SessionWrapKey;
  keyById(id: string): SessionWrapKey;
}

const META = 'sealing';
const SCHEMA = 'custos.session-sealing/v1';
const PREFIX = 's1:';
const AAD = Buffer.from('custos.session/v1', 'utf8');

interface Envelope {
  readonly schema: string;
  readonly kid: string;
  readonly dek: string;
}

/** The store as is without keys (refusing a sealed one), or sealed under `keys.active`. */
export async function sealSessionStore(inner: SessionStore & SessionMeta, keys: SessionKeys | undefined): Promise<SessionStore> {
  const stored = await inner.readMeta(META);
  const active = keys?.active;
  if (!active || !keys) {
    if (stored === undefined) return inner;
    throw new CustosError(
      'ERR_CONFIG_INVALID',
      `the session store is sealed under key "${parseEnvelope(stored).kid}": set audit.encryption.key and keep that key registered under \`keys\``,
      { detail: { key_id: parseEnvelope(stored).kid } },
    );
  }
  let text = stored;
  if (text === undefined) {
    if (await inner.holdsRows())
      throw new CustosError(
        'ERR_CONFIG_INVALID',
        'the session store holds rows written in clear: give identity.sessions.store a new location to seal it (a clear store is never mixed with sealed rows)',
        { detail: { key_id: active.id } },
      );
    text = await inner.claimMeta(META, envelopeOf(active, randomBytes(32)));
  }
  const envelope = parseEnvelope(text);
  const dek = unwrapDataKey(keys, envelope);
  if (envelope.kid !== active.id) await inner.replaceMeta(META, envelopeOf(active, dek)); // a rotated registry key: rewrap
  return sealed(inner, dek, active.id);
}

function envelopeOf(key: SessionWrapKey, dek: Buffer): string {
  return JSON.stringify({ schema: SCHEMA, kid: key.id, dek: key.wrap(dek).toString('base64') });
}

function parseEnvelope(text: string): Envelope {
  const e = JSON.parse(text) as Partial<Envelope>;
  if (e.schema !== SCHEMA || typeof e.kid !== 'string' || typeof e.dek !== 'string')
    throw new CustosError('ERR_CONFIG_INVALID', `the session store's sealing envelope is not ${SCHEMA}`);
  return e as Envelope;
}

function unwrapDataKey(keys: SessionKeys, envelope: Envelope): Buffer {
  const key = keys.keyById(envelope.kid); // ERR_KEY_UNKNOWN names the id and the fix
  try {
    return key.unwrap(Buffer.from(envelope.dek, 'base64'));
  } catch (err) {
    throw new CustosError(
      'ERR_KEY_INVALID',
      `the session store's data key does not unwrap under key "${envelope.kid}" (another key registered under that id?)`,
      { cause: err, detail: { key_id: envelope.kid } },
    );
  }
}

function sealed(inner: SessionStore, dek: Buffer, kid: string): SessionStore {
  const encKey = createHmac('sha256', dek).update('custos.session/v1 enc').digest();
  const ivKey = createHmac('sha256', dek).update('custos.session/v1 iv').digest();
  const seal = (value: string): string => {
    const iv = createHmac('sha256', ivKey).update(value, 'utf8').digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', encKey, iv).setAAD(AAD);
    const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64');
  };
  const open = (text: string): string => {
    try {
      if (!text.startsWith(PREFIX)) throw new Error('not sealed');
      const blob = Buffer.from(text.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', encKey, blob.subarray(0, 12)).setAAD(AAD);
      decipher.setAuthTag(blob.subarray(blob.length - 16));
      return Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new CustosError('ERR_KEY_INVALID', `a session store value does not open under the data key of key "${kid}": the stored row was changed`, {
        cause: err,
        detail: { key_id: kid },
      });
    }
  };
  const openGrant = (g: EmergencyGrantRow): EmergencyGrantRow => ({
    ...g,
    sub: open(g.sub),
    ...(g.sid === undefined ? {} : { sid: open(g.sid) }),
    ...(g.closedBy === undefined ? {} : { closedBy: open(g.closedBy) }),
  });
  const openBackground = (g: BackgroundGrantRow): BackgroundGrantRow => ({
    ...g,
    sub: open(g.sub),
    ...(g.scope === undefined ? {} : { scope: g.scope.map(open) }),
  });
  return {
    revokeSession: (iss, sid, atMs) => inner.revokeSession(iss, seal(sid), atMs),
    revokeUser: (iss, sub, atMs) => inner.revokeUser(iss, seal(sub), atMs),
    onRevoked: (listener) =>
      inner.onRevoked((r) => listener({ ...r, ...(r.sid === undefined ? {} : { sid: open(r.sid) }), ...(r.sub === undefined ? {} : { sub: open(r.sub) }) })),
    revocation: (iss, sub, sid) => inner.revocation(iss, seal(sub), sid === undefined ? undefined : seal(sid)),
    readActivity: (key) => inner.readActivity(seal(key)),
    writeActivity: (key, activity) => inner.writeActivity(seal(key), activity),
    rememberJti: (iss, jti, untilMs) => inner.rememberJti(iss, jti, untilMs),
    forgetJti: (iss, jti) => inner.forgetJti(iss, jti),
    putGrant: (g) => inner.putGrant({ ...g, sub: seal(g.sub), ...(g.sid === undefined ? {} : { sid: seal(g.sid) }) }),
    getGrant: async (id) => {
      const g = await inner.getGrant(id);
      return g && openGrant(g);
    },
    listGrants: async () => (await inner.listGrants()).map(openGrant),
    liveGrantsOf: async (iss, sub, nowMs) => (await inner.liveGrantsOf(iss, seal(sub), nowMs)).map(openGrant),
    openReviews: async () => (await inner.openReviews()).map(openGrant),
    closeGrant: (id, by, atMs) => inner.closeGrant(id, seal(by), atMs),
    putBackgroundGrant: (g, purgeBeforeSec) =>
      inner.putBackgroundGrant({ ...g, sub: seal(g.sub), ...(g.scope === undefined ? {} : { scope: g.scope.map(seal) }) }, purgeBeforeSec),
    getBackgroundGrant: async (grantId) => {
      const g = await inner.getBackgroundGrant(grantId);
      return g && openBackground(g);
    },
    revokeBackgroundGrant: (grantId, owner) => inner.revokeBackgroundGrant(grantId, { ...owner, sub: seal(owner.sub) }),
    putMcpSession: (r, purgeBeforeMs) =>
      inner.putMcpSession({ ...r, owner: { ...r.owner, sub: seal(r.owner.sub) }, sessionIds: r.sessionIds.map(seal) }, purgeBeforeMs),
    getMcpSession: async (id) => {
      const r = await inner.getMcpSession(id);
      return r && { ...r, owner: { ...r.owner, sub: open(r.owner.sub) }, sessionIds: r.sessionIds.map(open) };
    },
    removeMcpSession: (id) => inner.removeMcpSession(id),
    close: () => inner.close(),
  };
}

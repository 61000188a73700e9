/**
 * The sealed form of a stored row (encryption at rest), written in the SQLite writer thread
 * and by the PostgreSQL store:
 *   {"ct":B64(iv ‖ AES-256-GCM(dek, canonical record) ‖ tag),"dek":B64(wrapped dek),"kid":KEY_ID,"schema":"custos.sealed/v1"}
 * with AAD "custos.sealed/v1:SEQ", so a sealed body moved to another row does not open. The
 * record inside is the canonical text the chain hashes: the chain is over plaintext.
 *
 * No runtime imports: sqlite-worker-link.ts ships `sealRecordText` to the thread as source.
 */
import type * as NodeCrypto from 'node:crypto';

export const SEALED_SCHEMA = 'custos.sealed/v1' as const;

/** The data key a store seals under: the raw key (never stored), its wrapped form and the key-encryption key's id. */
export interface SealParams {
  readonly kid: string;
  /** base64 of the data key wrapped by the key-encryption key `kid`. */
  readonly wrapped: string;
  readonly dek: Uint8Array;
}

export function sealRecordText(crypto: typeof NodeCrypto, seal: SealParams, seq: number, json: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', seal.dek, iv);
  cipher.setAAD(Buffer.from(`custos.sealed/v1:${seq}`, 'utf8'));
  const ct = Buffer.concat([iv, cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
  return `{"ct":"${ct}","dek":"${seal.wrapped}","kid":${JSON.stringify(seal.kid)},"schema":"custos.sealed/v1"}`;
}

/**
 * Test support (never in dist/): a SoftHSM token in a temporary directory, with an AES-256
 * key, an HMAC key and an Ed25519 key pair generated inside it (they never leave it).
 * Needs Debian's `softhsm2` (.ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Pkcs11js from 'pkcs11js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const TOKEN = 'custos-test';
export const PIN = '123456';

export interface SoftHsm {
  readonly dir: string;
  remove(): void;
}

/** Creates the token and its keys (labels `kek`, `mac`, `checkpoint`); sets SOFTHSM2_CONF for this process. */
export function createSoftHsm(): SoftHsm {
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`SoftHSM is not installed (${SOFTHSM_MODULE}): apt-get install -y softhsm2`);
  const dir = mkdtempSync(join(tmpdir(), 'custos-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', TOKEN, '--pin', PIN, '--so-pin', '654321'], { stdio: 'ignore' });
  generateKeys();
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function generateKeys(): void {
  const lib = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js;
  const p11 = new lib.PKCS11();
  p11.load(SOFTHSM_MODULE);
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === TOKEN)!;
    const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    p11.C_Login(session, lib.CKU_USER, PIN);
    const secret = (label: string, type: number, use: Pkcs11js.Template) =>
      p11.C_GenerateKey(session, { mechanism: type === lib.CKK_AES ? lib.CKM_AES_KEY_GEN : lib.CKM_GENERIC_SECRET_KEY_GEN }, [
        { type: lib.CKA_CLASS, value: lib.CKO_SECRET_KEY },
        { type: lib.CKA_KEY_TYPE, value: type },
        { type: lib.CKA_VALUE_LEN, value: 32 },
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_LABEL, value: label },
        { type: lib.CKA_SENSITIVE, value: true },
        { type: lib.CKA_EXTRACTABLE, value: false },
        ...use,
      ]);
    secret('kek', lib.CKK_AES, [
      { type: lib.CKA_ENCRYPT, value: true },
      { type: lib.CKA_DECRYPT, value: true },
    ]);
    secret('mac', lib.CKK_GENERIC_SECRET, [{ type: lib.CKA_SIGN, value: true }]);
    p11.C_GenerateKeyPair(
      session,
      { mechanism: 0x1055 }, // CKM_EC_EDWARDS_KEY_PAIR_GEN
      [
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_LABEL, value: 'checkpoint' },
        { type: lib.CKA_VERIFY, value: true },
        { type: lib.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }, // OID 1.3.101.112 (Ed25519)
      ],
      [
        { type: lib.CKA_TOKEN, value: true },
        { type: lib.CKA_LABEL, value: 'checkpoint' },
        { type: lib.CKA_SIGN, value: true },
        { type: lib.CKA_PRIVATE, value: true },
        { type: lib.CKA_SENSITIVE, value: true },
      ],
    );
    p11.C_Logout(session);
    p11.C_CloseSession(session);
  } finally {
    p11.C_Finalize();
  }
}

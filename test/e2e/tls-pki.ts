/**
 * Test certificates (90 days) made at test time with the `openssl` CLI: a CA, a server certificate for
 * 127.0.0.1 and localhost signed by it, and the SPKI pins (`sha256/BASE64`) of the server key
 * and of an unrelated key (a wrong pin).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestPki {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The server certificate's SPKI pin. */
  readonly pin: string;
  /** A pin of another key: never matches. */
  readonly wrongPin: string;
}

const pinOf = (spkiDer: Buffer): string => `sha256/${createHash('sha256').update(spkiDer).digest('base64')}`;

export function makeTestPki(dir: string): TestPki {
  const f = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '90',
    '-subj',
    '/CN=Custos Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '90',
    '-extfile',
    f('server.ext'),
  );
  const cert = readFileSync(f('server.pem'), 'utf8');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
  return {
    caFile: f('ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    ca: readFileSync(f('ca.pem'), 'utf8'),
    cert,
    key: readFileSync(f('server.key'), 'utf8'),
    pin: pinOf(new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' })),
    wrongPin: pinOf(other),
  };
}

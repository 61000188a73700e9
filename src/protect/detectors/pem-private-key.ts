/** PEM private key blocks and PuTTY private key files: the whole block. */
import type { DetectorSpec } from '../detector.js';

export const pemPrivateKey: DetectorSpec = {
  id: 'pem-private-key',
  type: 'private_key',
  basis: 'prefix',
  description: 'PEM private key blocks (RSA, EC, DSA, OPENSSH, PKCS#8, ENCRYPTED, PGP), the whole block; an unterminated block runs to the end of the text',
  keywords: ['-----begin'],
  pattern: /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|$)/,
  examples: {
    positive: [
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----',
      ['x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE truncated', 'MHcCAQEE'],
    ],
    negative: ['-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----', '-----BEGIN CERTIFICATE-----\nMIIBIjAN\n-----END CERTIFICATE-----'],
  },
};

export const puttyPrivateKey: DetectorSpec = {
  id: 'putty-private-key',
  type: 'private_key',
  basis: 'prefix',
  description: 'PuTTY private key files (PuTTY-User-Key-File-2/3), from the header to the Private-MAC line',
  keywords: ['putty-user-key-file-'],
  pattern: /PuTTY-User-Key-File-[23]:[^\n]{0,200}\n[\s\S]*?(?:Private-MAC:[^\n]*|$)/,
  examples: {
    positive: [['PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAAIBk2\nPrivate-MAC: 3f2a', 'AAAAIBk2']],
    negative: ['PuTTY is an SSH client; its key files start with a header line.'],
  },
};

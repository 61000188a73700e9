/**
 * Fake credentials for tests, assembled at run time so that no literal in the repository
 * looks like a live key to a secret scanner. None of these values is real.
 */
import { checksummedToken } from './detectors/index.js';

const join = (...parts: string[]): string => parts.join('');

export const FAKE = {
  awsAccessKeyId: join('AKIA', 'Q3ZP7RT2', 'MNB4KXWY'),
  /** The key id AWS documents: never live, so never redacted. */
  awsDocumentedKeyId: join('AKIA', 'IOSFODNN7', 'EXAMPLE'),
  awsSecretKey: join('Zm9vYmFyYmF6cXV4MTIz', 'NDU2Nzg5MGFiY2RlZmdo'),
  gcpKey: join('AIza', 'SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'),
  /** A classic PAT whose CRC-32 checksum is right (GitHub's published token format). */
  githubPat: checksummedToken(join('ghp', '_'), 42),
  githubFineGrained: join('github', '_pat_', '11ABCDEFG0123456789abc_', 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW'),
  slack: join('xox', 'b-', '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'),
  stripeLive: join('sk', '_live_', '51HxYzNotARealKey1234abcdef'),
  stripeRestricted: join('rk', '_test_', '51HxYzNotARealKey1234abcdef'),
  openai: join('sk-', 'proj-', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12'),
  anthropic: join('sk-', 'ant-', 'api03-', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56Ab78Cd90Ef12Gh34Ij56Kl78Mn90Op12Qr34St5', 'AA'),
  jwt: join('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', '.', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'),
  pem: join('-----BEGIN ', 'RSA PRIVATE KEY-----\n', 'MIIEowIBAAKCAQEAnotarealkeyAAAA\nBBBBnotarealkeyCCCC==\n', '-----END RSA PRIVATE KEY-----'),
} as const;

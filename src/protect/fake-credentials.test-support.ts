/**
 * Fake credentials for tests, assembled at run time so that no literal in the repository
 * looks like a live key to a secret scanner. None of these values is real.
 */
const join = (...parts: string[]): string => parts.join('');

export const FAKE = {
  awsAccessKeyId: join('AKIA', 'IOSFODNN7', 'EXAMPLE'),
  awsSecretKey: join('wJalrXUtnFEMI/K7MDENG/', 'bPxRfiCYEXAMPLEKEY'),
  gcpKey: join('AIza', 'SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'),
  githubPat: join('ghp', '_', 'aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5'),
  githubFineGrained: join('github', '_pat_', '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRST'),
  slack: join('xox', 'b-', '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'),
  stripeLive: join('sk', '_live_', '51HxYzNotARealKey0000abcdef'),
  stripeRestricted: join('rk', '_test_', '51HxYzNotARealKey0000abcdef'),
  openai: join('sk-', 'proj-', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34'),
  anthropic: join('sk-', 'ant-', 'api03-', 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56'),
  jwt: join('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', '.', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'),
  pem: join('-----BEGIN ', 'RSA PRIVATE KEY-----\n', 'MIIEowIBAAKCAQEAnotarealkeyAAAA\nBBBBnotarealkeyCCCC==\n', '-----END RSA PRIVATE KEY-----'),
} as const;

/**
 * GitHub and npm tokens. Classic GitHub tokens (`ghp_ gho_ ghu_ ghs_ ghr_`) and npm tokens
 * (`npm_`) end in a 6-character base62 CRC-32 of their 30 random characters (GitHub's
 * published format); a token whose checksum fails is a made-up string, not a credential.
 * Fine-grained PATs (`github_pat_`) have no public checksum: prefix and shape.
 */
import type { DetectorSpec } from '../detector.js';
import { crc32, isGithubChecksumValid, toBase62 } from './checksums.js';
import { isFillerToken } from './placeholders.js';
import { seededRandom } from './prefixed-token.js';

const CLASSIC = [
  ['github-pat', 'ghp_', 'GitHub personal access token (classic)'],
  ['github-oauth-token', 'gho_', 'GitHub OAuth access token'],
  ['github-user-to-server-token', 'ghu_', 'GitHub App user-to-server token'],
  ['github-server-to-server-token', 'ghs_', 'GitHub App installation (server-to-server) token'],
  ['github-refresh-token', 'ghr_', 'GitHub App refresh token'],
  ['npm-access-token', 'npm_', 'npm access token'],
] as const;

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A token with a valid checksum, for tests and the corpus. */
export function checksummedToken(prefix: string, seed: number): string {
  const rand = seededRandom(seed);
  let body = '';
  for (let i = 0; i < 30; i++) body += ALNUM[Math.floor(rand() * 62)]!;
  return `${prefix}${body}${toBase62(crc32(body), 6)}`;
}

function classic(id: string, prefix: string, what: string): DetectorSpec {
  const valid = checksummedToken(prefix, 11);
  const broken = `${valid.slice(0, -1)}${valid.endsWith('0') ? '1' : '0'}`;
  return {
    id,
    type: 'secret',
    basis: 'checksum',
    description: `${what} (${prefix}…), CRC-32 checksum verified`,
    keywords: [prefix],
    pattern: new RegExp(`(?<![A-Za-z0-9_])${prefix}([A-Za-z0-9]{36})(?![A-Za-z0-9_])`),
    validate: (m) => isGithubChecksumValid(m[1] ?? '') && !isFillerToken(m[1] ?? ''),
    examples: { positive: [valid, [`token: ${valid}`, valid]], negative: [broken, `${prefix}${'x'.repeat(36)}`] },
  };
}

export const GITHUB_DETECTORS: readonly DetectorSpec[] = [
  ...CLASSIC.map(([id, prefix, what]) => classic(id, prefix, what)),
  {
    id: 'github-fine-grained-pat',
    type: 'secret',
    basis: 'prefix',
    description: 'GitHub fine-grained personal access token (github_pat_ + 22 + _ + 59)',
    keywords: ['github_pat_'],
    pattern: /(?<![A-Za-z0-9_])github_pat_([A-Za-z0-9]{22})_([A-Za-z0-9]{59})(?![A-Za-z0-9_])/,
    validate: (m) => !isFillerToken(`${m[1]}${m[2]}`),
    examples: {
      positive: [`github_pat_11ABCDEFG0123456789abc_${'aB3'.repeat(19)}zQ`],
      negative: ['github_pat_tooShort', `github_pat_${'x'.repeat(22)}_${'x'.repeat(59)}`],
    },
  },
];

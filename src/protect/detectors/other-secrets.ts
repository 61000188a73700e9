/** Secret detectors that a token row cannot express: context-bound keys, URL credentials, bearer tokens. */
import type { DetectorSpec } from '../detector.js';
import { SEP } from '../assignments.js';
import { isFillerToken, isPlaceholder } from './placeholders.js';

const hasDigitOrIsLong = (token: string): boolean => /\d/.test(token) || token.length >= 32;

export const awsSecretAccessKey: DetectorSpec = {
  id: 'aws-secret-access-key',
  type: 'secret',
  basis: 'context',
  description: 'AWS secret access keys (40 characters) after aws_secret_access_key / SecretAccessKey',
  keywords: ['secret_access_key', 'secretaccesskey', 'secret-access-key'],
  mode: 'gate',
  pattern: new RegExp(String.raw`(?<![A-Za-z0-9_])(?:aws_?)?secret_?access_?key["']?${SEP}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`, 'i'),
  groups: [1],
  validate: (m) => !isPlaceholder(m[1] ?? '') && !isFillerToken(m[1] ?? ''),
  examples: {
    positive: [
      ['aws_secret_access_key = Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo'],
      ['{"SecretAccessKey":"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo"}', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo'],
    ],
    negative: ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  },
};

export const azureClientSecret: DetectorSpec = {
  id: 'azure-ad-client-secret',
  type: 'secret',
  basis: 'prefix',
  description: 'Microsoft Entra ID (Azure AD) client secrets: 3 characters, a digit, Q~, then 31–34',
  keywords: ['q~'],
  offset: 4,
  pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/,
  examples: { positive: ['abc8Q~Zr5Ty.Ui9Op_Lk7Jh6Gf5Ds4Aa3Sd2Fg1'], negative: ['Q~ is not a secret on its own'] },
};

export const telegramBotToken: DetectorSpec = {
  id: 'telegram-bot-token',
  type: 'secret',
  basis: 'prefix',
  description: 'Telegram bot tokens (bot id, :AA, 33 characters)',
  keywords: [':aa'],
  mode: 'gate',
  pattern: /(?<![A-Za-z0-9_])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/,
  examples: { positive: ['123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1'], negative: ['12:AA is a time'] },
};

export const genericSkKey: DetectorSpec = {
  id: 'generic-sk-api-key',
  type: 'secret',
  basis: 'prefix',
  description: 'Other AI-provider keys in the sk- shape (DeepSeek, Moonshot, Stability…): sk- and 32+ characters with a digit',
  keywords: ['sk-'],
  pattern: /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{32,256}(?![A-Za-z0-9_-])/,
  validate: (m) => /\d/.test(m[0]) && !isFillerToken(m[0].slice(3)),
  examples: { positive: ['sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0'], negative: ['a task-force of sk-learn users'] },
};

export const bearerToken: DetectorSpec = {
  id: 'bearer-token',
  type: 'secret',
  basis: 'context',
  description: 'The credential after "Bearer " (12+ characters with a digit, or 32+ characters), not a placeholder',
  keywords: ['bearer'],
  pattern: /(?<![A-Za-z0-9])bearer[ \t]+([A-Za-z0-9\-._~+/]{12,4096}=*)/i,
  groups: [1],
  validate: (m) => hasDigitOrIsLong(m[1] ?? '') && !isPlaceholder(m[1] ?? ''),
  examples: {
    positive: [['curl -H "x: Bearer abc123def456ghi789"', 'abc123def456ghi789']],
    negative: ['use a Bearer token in the header', 'Authorization: Bearer <token>', 'Authorization: Bearer $TOKEN'],
  },
};

export const urlCredentials: DetectorSpec = {
  id: 'url-credentials',
  type: 'secret',
  basis: 'structure',
  description: 'user:password in URLs and connection strings (postgres://, mysql://, mongodb+srv://, redis://, amqp://, https://…); scheme and host are kept',
  keywords: ['://'],
  offset: 0,
  pattern: /:\/\/([^\s:@/?#[\]]{0,256}:([^\s/?#@]{1,256}))@/,
  groups: [1],
  validate: (m) => !isPlaceholder(m[2] ?? '') && !/^\*+$/.test(m[2] ?? ''),
  examples: {
    positive: [
      ['postgres://admin:s3cr3t@db.internal:5432/app', 'admin:s3cr3t'],
      ['mongodb+srv://svc:Tr0ub4dor@cluster0.example.net/db', 'Tr0ub4dor'],
      ['redis://:onlypass@cache:6379', 'onlypass'],
    ],
    negative: ['https://example.com/path?q=1', 'postgres://app:${DB_PASSWORD}@db/app', 'postgres://user:password@localhost/db'],
  },
};

export const slackToken: DetectorSpec = {
  id: 'slack-token',
  type: 'secret',
  basis: 'prefix',
  description: 'Other Slack tokens (xoxb-, xoxp-, xoxo-, xoxc-, xoxd- in shapes the specific rows do not cover)',
  keywords: ['xoxb-', 'xoxp-', 'xoxo-', 'xoxc-', 'xoxd-'],
  pattern: /(?<![A-Za-z0-9])xox[bpocd]-[A-Za-z0-9-]{10,250}/,
  validate: (m) => /\d/.test(m[0]) && !isFillerToken(m[0].slice(5)),
  examples: { positive: ['xoxb-882543-Q7A2BfGBom3hbQ8BVl4N'], negative: ['xoxb-short'] },
};

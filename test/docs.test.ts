/** Generated references must match their sources: run `npm run gen` after changing them. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateErrorsDoc } from '../src/gateway/index.js';
import { ERROR_CODES } from '../src/kernel/index.js';

const root = path.resolve(import.meta.dirname, '..');

describe('docs/errors.md', () => {
  it('is up to date and lists every error code', () => {
    const doc = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    expect(doc).toBe(generateErrorsDoc());
    for (const code of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${code}\``);
  });
});

describe('README', () => {
  it('shows the two quick-start commands and links docs that exist', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
    for (const [, link] of readme.matchAll(/\]\(((?:docs|examples)\/[^)#]+)\)/g)) {
      expect(existsSync(path.join(root, link!)), link).toBe(true);
    }
  });
});

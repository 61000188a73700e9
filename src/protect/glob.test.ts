import { describe, expect, it } from 'vitest';
import { compileGlob, matchGlob } from './glob.js';

const CASES: Array<[glob: string, path: string, expected: boolean]> = [
  // *
  ['*.csv', 'a.csv', true],
  ['*.csv', 'dir/a.csv', false],
  ['*.csv', '.hidden.csv', true],
  ['*', '', true],
  ['a*b', 'a/b', false],
  // ?
  ['file?.txt', 'file1.txt', true],
  ['file?.txt', 'file10.txt', false],
  ['file?.txt', 'file/.txt', false],
  // **
  ['**', 'a/b/c', true],
  ['**/*.csv', 'a.csv', true],
  ['**/*.csv', 'x/y/a.csv', true],
  ['**/*.csv', '/abs/x/a.csv', true],
  ['**/*.csv', 'x/a.csv.bak', false],
  ['**/phi/**', 'phi', true],
  ['**/phi/**', 'phi/note.txt', true],
  ['**/phi/**', '/w/phi/a/b.txt', true],
  ['**/phi/**', '/w/phillip/a.txt', false],
  ['**/phi/**', '/w/notphi/a.txt', false],
  ['phi/**', 'phi/a/b', true],
  ['phi/**', 'phi', true],
  ['phi/**', 'x/phi/a', false],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/x/y/c', false],
  ['a**b', 'aXXb', true],
  ['a**b', 'a/b', false],
  // braces
  ['*.{csv,xlsx}', 'r.xlsx', true],
  ['*.{csv,xlsx}', 'r.xls', false],
  ['{phi,pii}/**', 'pii/x', true],
  ['{a,b{c,d}}.txt', 'bd.txt', true],
  ['{a,b{c,d}}.txt', 'b.txt', false],
  ['{,x}y', 'y', true],
  ['{unclosed', '{unclosed', true],
  // literals and escapes
  ['a.b', 'aXb', false],
  ['(a)+[b]$', '(a)+[b]$', true],
  ['\\*.txt', '*.txt', true],
  ['\\*.txt', 'a.txt', false],
  ['/etc/**', '/etc/passwd', true],
  ['/etc/**', 'etc/passwd', false],
  ['**/.env', '/w/app/.env', true],
  ['**/.env', '/w/app/.env.local', false],
  ['**/.env*', '/w/app/.env.local', true],
];

describe('matchGlob', () => {
  it.each(CASES)('%s ~ %s → %s', (glob, path, expected) => {
    expect(matchGlob(glob, path)).toBe(expected);
  });

  it('is case-sensitive unless asked otherwise', () => {
    expect(matchGlob('**/phi/**', 'PHI/x')).toBe(false);
    expect(matchGlob('**/phi/**', 'PHI/x', { nocase: true })).toBe(true);
  });

  it('rejects brace bombs with a bundle error', () => {
    expect(() => matchGlob('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}', 'x')).toThrow(/too many alternatives/);
  });

  it('compiles once per glob and options', () => {
    expect(compileGlob('**/*.csv')).toBe(compileGlob('**/*.csv'));
    expect(compileGlob('**/*.csv', { nocase: true })).not.toBe(compileGlob('**/*.csv'));
  });

  it('stays fast on long paths against many-star globs', () => {
    const path = `${'a/'.repeat(2000)}b`;
    const longSegment = 'a'.repeat(100_000);
    const start = performance.now();
    expect(matchGlob('**/*a*a*a*a*/**/c', path)).toBe(false);
    expect(matchGlob('**/**/**/**/c', path)).toBe(false);
    expect(matchGlob('**/a/**/a/**/a/**/c', path)).toBe(false);
    expect(matchGlob('**/a*/**/*a/**/a?/**/c', path)).toBe(false);
    expect(matchGlob('**/**/**/**/b', path)).toBe(true);
    expect(matchGlob('a/**/**', path)).toBe(true);
    expect(matchGlob('*a*a*a*a*c', longSegment)).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

import { describe, expect, it } from 'vitest';
import type { ClassificationRule } from '../kernel/index.js';
import { classifyCall, classifyPaths, isSecretFile } from './classify.js';
import { extractPaths, normalisePath, pathFromUri } from './paths.js';

const RULES: ClassificationRule[] = [
  { dataClass: 'phi', paths: ['phi/**'] },
  { dataClass: 'pii', paths: ['**/*.csv', '**/exports/{users,customers}/**'] },
  { dataClass: 'system', paths: ['/etc/**'] },
];

const call = (args: unknown, kind: 'tool' | 'resource' = 'tool', name = 'read_file') => ({ tool: { server: 'fs', name }, kind, arguments: args });

describe('normalisePath', () => {
  it.each([
    ['phi/../phi/x', 'phi/x'],
    ['./phi/x', 'phi/x'],
    ['public/../phi/x', 'phi/x'],
    ['/w//public/./../phi/x/', '/w/phi/x'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['../../phi/x', '../../phi/x'],
    ['a/..', '.'],
    ['C:\\Users\\me\\.env', 'C:/Users/me/.env'],
    ['file:///w/phi/a%20b.txt', '/w/phi/a b.txt'],
    ['file://localhost/etc/hosts', '/etc/hosts'],
    ['repo://phi/notes.txt?rev=2', 'phi/notes.txt'],
  ])('%s → %s', (input, expected) => {
    expect(normalisePath(input)).toBe(expected);
  });

  it('keeps a custom URI scheme authority as the first segment', () => {
    expect(pathFromUri('s3://bucket/phi/x.csv')).toBe('bucket/phi/x.csv');
    expect(pathFromUri('file:///w/%2e%2e/phi/x')).toBe('/w/../phi/x');
  });
});

describe('built-in secret files', () => {
  it.each([
    '.env',
    '/w/app/.env',
    '/w/app/.env.local',
    '/w/app/.env.production',
    '/w/tls/server.pem',
    '/w/tls/server.key',
    '/home/u/.ssh/id_rsa',
    '/home/u/.ssh/id_ed25519',
    '/home/u/.aws/credentials',
    '/home/u/.npmrc',
    '/home/u/.netrc',
    '/home/u/.pgpass',
    '/home/u/.git-credentials',
    '/w/credentials.json',
    '/w/cert.p12',
    '/w/cert.PFX',
    '/home/u/.docker/config.json',
    '/home/u/.kube/config',
    '/w/kubeconfig',
  ])('%s is a secret file', (p) => expect(isSecretFile(normalisePath(p))).toBe(true));

  it.each([
    '/w/.env.example',
    '/w/.env.sample',
    '/home/u/.ssh/id_rsa.pub',
    '/home/u/.ssh/id_ed25519.pub',
    '/w/config.json',
    '/w/.aws/config',
    '/w/env',
    '/w/keys.txt',
    '/w/README.md',
  ])('%s is not', (p) => expect(isSecretFile(normalisePath(p))).toBe(false));
});

describe('classifyPaths', () => {
  it('matches bundle globs against the path and its suffixes', () => {
    expect(classifyPaths(['/abs/workspace/phi/note.txt'], RULES)).toEqual(['phi']);
    expect(classifyPaths(['reports/q1.csv'], RULES)).toEqual(['pii']);
    expect(classifyPaths(['/srv/exports/customers/2024/list.json'], RULES)).toEqual(['pii']);
    expect(classifyPaths(['/etc/hosts'], RULES)).toEqual(['system']);
  });

  it('resolves traversal before matching', () => {
    expect(classifyPaths(['public/../phi/x'], RULES)).toEqual(['phi']);
    expect(classifyPaths(['phi/../phi/x'], RULES)).toEqual(['phi']);
    expect(classifyPaths(['./phi/x'], RULES)).toEqual(['phi']);
    expect(classifyPaths(['/w/phi/../public/x.txt'], RULES)).toEqual([]);
    expect(classifyPaths(['/w/public/../../etc/shadow'], RULES)).toEqual(['secret_file', 'system', 'system_credentials']);
  });

  it('reads file:// URIs as paths', () => {
    expect(classifyPaths(['file:///w/phi/chart.txt'], RULES)).toEqual(['phi']);
    expect(classifyPaths(['file:///w/app/.env'], RULES)).toEqual(['env_file', 'secret_file']);
    expect(classifyPaths(['file:///w/public/%2e%2e/phi/x'], RULES)).toEqual(['phi']);
  });

  it('ignores case so PHI/ cannot slip past phi/**', () => {
    expect(classifyPaths(['/w/PHI/x'], RULES)).toEqual(['phi']);
  });

  it('returns sorted unique classes across several paths', () => {
    expect(classifyPaths(['/w/phi/a.csv', '/w/phi/b.csv', '/w/.env'], RULES)).toEqual(['env_file', 'phi', 'pii', 'secret_file']);
  });

  it('finds nothing for unrelated paths or no rules', () => {
    expect(classifyPaths(['/w/src/index.ts'], RULES)).toEqual([]);
    expect(classifyPaths(['/w/phi/x'], [])).toEqual([]);
    expect(classifyPaths(['/w/philosophy/x'], RULES)).toEqual([]);
  });
});

describe('extractPaths and classifyCall', () => {
  it('collects every string at any depth, normalised; path-like names add meaning, never coverage', () => {
    const args = {
      path: '/w/a.txt',
      paths: ['/w/b.txt', '/w/c.txt'],
      options: { source: '/w/d.txt', destination: '/w/e.txt', depth: 2 },
      edits: [{ filePath: '/w/f.txt' }],
      content: '/w/not-a-path-argument.txt',
      Directory: '/w',
      uri: 'file:///w/g.txt',
    };
    expect(extractPaths(args).sort()).toEqual([
      '/w',
      '/w/a.txt',
      '/w/b.txt',
      '/w/c.txt',
      '/w/d.txt',
      '/w/e.txt',
      '/w/f.txt',
      '/w/g.txt',
      '/w/not-a-path-argument.txt',
    ]);
    expect(extractPaths('just a string')).toEqual(['just a string']);
    expect(extractPaths({ a: { b: { c: { d: { e: { f: ['phi/x'] } } } } } })).toEqual(['phi/x']);
    expect(extractPaths(null)).toEqual([]);
  });

  it('classifies a call from its arguments', () => {
    expect(classifyCall(call({ path: '/w/app/.env' }), RULES)).toEqual(['env_file', 'secret_file']);
    expect(classifyCall(call({ paths: ['/w/phi/a.txt', '/w/x.csv'] }), RULES)).toEqual(['phi', 'pii']);
    expect(classifyCall(call({ source: '/w/public/../phi/a', destination: '/tmp/out' }, 'tool', 'move_file'), RULES)).toEqual(['phi']);
    expect(classifyCall(call({ query: 'phi/x' }), RULES)).toEqual(['phi']);
    expect(classifyCall(call({ th: '/w/phi/patient-0001.md' }), RULES)).toEqual(['phi']);
    expect(classifyCall(call({ note: 'see phi/x\nand more' }), RULES)).toEqual([]);
  });

  it('classifies a resource read by its URI argument or a URI tool name', () => {
    expect(classifyCall(call({ uri: 'file:///w/phi/n.txt' }, 'resource', 'resources/read'), RULES)).toEqual(['phi']);
    expect(classifyCall(call({}, 'resource', 'file:///home/u/.aws/credentials'), RULES)).toEqual(['cloud_credentials', 'secret_file']);
  });
});

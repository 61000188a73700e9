/**
 * The module map of DESIGN.md, enforced over the import graph: the kernel is free of I/O
 * and of every other module; modules meet only at each other's index.ts; the gateway sees
 * ports, not implementations; only app (and the thin cli) compose. Test helpers are named
 * `*.test-support.ts`, one tsconfig rule keeps them (and tests) out of dist/, and a module's
 * helpers reach other modules' tests only through its test door, `index.test-support.ts`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');

/** Which of our modules each module may import (always through index.ts). */
const ALLOWED: Record<string, string[]> = {
  kernel: [],
  identity: ['kernel'],
  policy: ['kernel'],
  protect: ['kernel'],
  audit: ['kernel'],
  export: ['kernel', 'audit'],
  monitor: ['kernel', 'audit'],
  evidence: ['kernel', 'audit', 'policy'],
  upstream: ['kernel'],
  gateway: ['kernel'],
  config: ['kernel'],
  app: ['kernel', 'identity', 'policy', 'protect', 'audit', 'export', 'monitor', 'upstream', 'gateway', 'evidence', 'config'],
  cli: ['kernel', 'identity', 'policy', 'protect', 'audit', 'export', 'monitor', 'evidence', 'config', 'app'],
};
const KERNEL_BUILTINS = new Set(['node:crypto']);

function walkAll(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walkAll(full) : /\.ts$/.test(name) ? [full] : [];
  });
}
const walk = (dir: string): string[] => walkAll(dir).filter((f) => !isTest(f));

const HELPER_SUFFIX = '.test-support.ts';
const TEST_DOOR = `index${HELPER_SUFFIX}`;
const isTest = (file: string): boolean => file.endsWith('.test.ts');
const isHelper = (file: string): boolean => file.endsWith(HELPER_SUFFIX);
/** Code that runs only under the test runner: tests, test helpers, and everything in test/. */
const isTestCode = (file: string): boolean => isTest(file) || isHelper(file) || !path.relative(root, file).startsWith('src');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!);
}

const files = walk(src);

/** Resolves a relative import of `file` to the .ts file it names. */
const resolveImport = (file: string, spec: string): string => path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');

/** Every file under src/ and test/ → the files that import it. */
function importersOf(all: readonly string[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const file of all) {
    for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
      const target = resolveImport(file, spec);
      by.set(target, [...(by.get(target) ?? []), file]);
    }
  }
  return by;
}

/**
 * A file is a test helper when it imports the test runner or when only test code imports
 * it; every test helper must be named `*.test-support.ts`.
 */
function misnamedHelpers(all: readonly string[], importers: Map<string, string[]>, imports: (f: string) => string[]): string[] {
  return all
    .filter((f) => f.startsWith(src) && !isTest(f) && !isHelper(f))
    .filter((f) => {
      const by = importers.get(f) ?? [];
      return imports(f).includes('vitest') || (by.length > 0 && by.every(isTestCode));
    });
}

/** Source files the build compiles: tsconfig's include minus exclude, plus whatever they import. */
function buildClosure(config: string, imports: (f: string) => string[]): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  const seen = new Set<string>();
  const queue = (parsed?.fileNames ?? []).map((f) => path.resolve(f));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of imports(file).filter((s) => s.startsWith('.'))) queue.push(resolveImport(file, spec));
  }
  return [...seen];
}
const moduleOf = (file: string): string => path.relative(src, file).split(path.sep)[0]!;

describe('import graph', () => {
  it('has every source module in the map', () => {
    for (const f of files) expect(Object.keys(ALLOWED), path.relative(src, f)).toContain(moduleOf(f));
  });

  it('keeps modules behind their index.ts and within the allowed dependencies', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = moduleOf(file);
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
        const to = moduleOf(target);
        if (to === from) continue;
        const rel = `${path.relative(src, file)} -> ${spec}`;
        if (isHelper(file) && path.relative(src, target) === `${to}/${TEST_DOOR}`) continue; // a helper may use another module's test door
        if (!ALLOWED[from]?.includes(to)) violations.push(`${rel}: ${from} may not import ${to}`);
        else if (path.relative(src, target) !== `${to}/index.ts`) violations.push(`${rel}: import ${to} through its index.ts`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the kernel free of I/O and third-party code', () => {
    const violations = files
      .filter((f) => moduleOf(f) === 'kernel')
      .flatMap((f) => importsOf(f).filter((s) => !s.startsWith('.') && !KERNEL_BUILTINS.has(s)).map((s) => `${path.relative(src, f)} imports ${s}`));
    expect(violations).toEqual([]);
  });

  it('fails on a violation (the checker itself can fail)', () => {
    const fake = path.join(src, 'gateway/fake.ts');
    const target = path.resolve(path.dirname(fake), '../audit/sqlite-store.js').replace(/\.js$/, '.ts');
    expect(ALLOWED.gateway).not.toContain(moduleOf(target));
  });
});

describe('test helpers', () => {
  const all = [...walkAll(src), ...walkAll(path.join(root, 'test'))];
  const importers = importersOf(all);

  it('names every test helper *.test-support.ts (anything only tests import, or that imports vitest)', () => {
    expect(misnamedHelpers(all, importers, importsOf).map((f) => path.relative(root, f))).toEqual([]);
  });

  it('keeps one in-memory audit store for tests: audit/memory-store.test-support.ts', () => {
    const store = path.join(src, 'audit/memory-store.test-support.ts');
    const defined = all.filter((f) => isTestCode(f) && f !== store && /\basync\s+append\s*\(|\bappend\s*:\s*async\b/.test(readFileSync(f, 'utf8')));
    expect(defined.map((f) => path.relative(root, f))).toEqual([]);
    expect(/\basync\s+append\s*\(/.test(readFileSync(store, 'utf8'))).toBe(true);
  });

  it('keeps test helpers out of production code', () => {
    const violations = all
      .filter((f) => !isTestCode(f))
      .flatMap((f) => importsOf(f).filter((s) => s.startsWith('.') && isHelper(resolveImport(f, s))).map((s) => `${path.relative(src, f)} -> ${s}`));
    expect(violations).toEqual([]);
  });

  it('excludes tests and test helpers from dist/ by one rule each in tsconfig.build.json', () => {
    const config = path.join(root, 'tsconfig.build.json');
    const { exclude } = JSON.parse(readFileSync(config, 'utf8')) as { exclude: string[] };
    expect(exclude).toEqual(['src/**/*.test.ts', `src/**/*${HELPER_SUFFIX}`]);
    const compiled = buildClosure(config, importsOf);
    expect(compiled.length).toBeGreaterThan(50);
    const helpersByUse = new Set(misnamedHelpers(all, importers, importsOf));
    expect(compiled.filter((f) => isTestCode(f) || helpersByUse.has(f)).map((f) => path.relative(root, f))).toEqual([]);
  });

  it('fails on a misnamed helper and on a helper pulled into the build (the checkers themselves can fail)', () => {
    const helper = path.join(src, 'protect/fixtures.test-helpers.ts');
    const test = path.join(src, 'protect/redact.test.ts');
    const runner = path.join(src, 'identity/test-expect-denied.ts');
    const code = path.join(src, 'protect/redact.ts');
    const fakeImports = (f: string): string[] => ({ [test]: ['./fixtures.test-helpers.js'], [runner]: ['vitest'], [code]: ['./fake.test-support.js'] })[f] ?? [];
    expect(misnamedHelpers([helper, test, runner, code], new Map([[helper, [test]]]), fakeImports)).toEqual([helper, runner]);
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-arch-'));
    try {
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ include: ['*.ts'], exclude: [`*${HELPER_SUFFIX}`] }));
      writeFileSync(path.join(dir, 'redact.ts'), "import { FAKE } from './fake.test-support.js';\n");
      writeFileSync(path.join(dir, `fake${HELPER_SUFFIX}`), 'export const FAKE = 1;\n');
      const closure = buildClosure(path.join(dir, 'tsconfig.json'), importsOf).map((f) => path.basename(f));
      expect(closure.sort()).toEqual([`fake${HELPER_SUFFIX}`, 'redact.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

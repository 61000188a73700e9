/**
 * The module map of DESIGN.md, enforced over the import graph: the kernel is free of I/O
 * and of every other module; modules meet only at each other's index.ts; the gateway sees
 * ports, not implementations; only app (and the thin cli) compose. Within modules: no import
 * cycles among source files, the front doors never import each other, and in a module with
 * rooms a room is entered only through its index.ts. Each checker is a pure function over
 * import edges, also run on small made-up graphs so it is seen to fail. Test helpers are
 * named `*.test-support.ts`, one tsconfig rule keeps them (and tests) out of dist/, and a
 * module's helpers reach other modules' tests only through its test door,
 * `index.test-support.ts`.
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
  upstream: ['kernel'],
  export: ['kernel', 'audit'],
  monitor: ['kernel', 'audit'],
  evidence: ['kernel', 'audit', 'policy', 'config', 'monitor'],
  gateway: ['kernel'],
  config: ['kernel'],
  keys: ['kernel'],
  app: ['kernel', 'identity', 'policy', 'protect', 'audit', 'export', 'monitor', 'upstream', 'gateway', 'evidence', 'config', 'keys'],
  cli: ['kernel', 'identity', 'policy', 'protect', 'audit', 'export', 'monitor', 'evidence', 'config', 'app', 'keys'],
};
const KERNEL_BUILTINS = new Set(['node:crypto']);

/** The gateway's front doors (folders of src/gateway): none imports another; `shared` is below them all. */
const DOORS = ['mcp', 'http', 'llm'];
const SHARED = 'gateway/shared';

/** Modules whose every subfolder is a room, entered from outside it only through its index.ts. */
const MODULES_WITH_ROOMS = ['identity'];

/** The dev-only identity provider: its own entry, out of identity's public surface, imported by these files only (paths from the repository root). */
const DEV_IDP = 'identity/dev-idp';
const DEV_IDP_IMPORTERS = ['src/app/quickstart.ts', 'src/cli/token.ts', 'test/e2e/harness.ts'];

/** One relative import: both ends as paths from src/ (from the repository root for files outside src/), '/'-separated. */
interface Edge {
  readonly from: string;
  readonly to: string;
  readonly spec: string;
}

const posix = (p: string): string => p.split(path.sep).join('/');

function walkAll(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walkAll(full) : /\.ts$/.test(name) ? [full] : [];
  });
}
const walk = (dir: string, withTests: boolean): string[] => walkAll(dir).filter((f) => withTests || !isTest(f));

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

/** The relative imports of `files`, as edges with paths from `base`. */
function edgesOf(files: readonly string[], base: string): Edge[] {
  return files.flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({
        from: posix(path.relative(base, file)),
        to: posix(path.relative(base, path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'))),
        spec,
      })),
  );
}

const moduleOf = (file: string): string => file.split('/')[0]!;
const show = (e: Edge): string => `${e.from} -> ${e.spec}`;

/** Imports across modules that the map forbids or that pass a module's index.ts (the dev provider's entry only for its importers). */
function moduleViolations(edges: readonly Edge[]): string[] {
  return edges.flatMap((e) => {
    const from = moduleOf(e.from);
    const to = moduleOf(e.to);
    if (from === to) return [];
    if (isHelper(e.from) && e.to === `${to}/${TEST_DOOR}`) return []; // a helper may use another module's test door
    if (!ALLOWED[from]?.includes(to)) return [`${show(e)}: ${from} may not import ${to}`];
    if (e.to === `${DEV_IDP}/index.ts` && DEV_IDP_IMPORTERS.includes(`src/${e.from}`)) return [];
    return e.to === `${to}/index.ts` ? [] : [`${show(e)}: import ${to} through its index.ts`];
  });
}

/** Every import cycle among the files (Tarjan's strongly connected components; a file importing itself counts). */
function findCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v)?.includes(v)) cycles.push(component.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

const doorOf = (file: string): string | undefined => {
  const [mod, folder] = file.split('/');
  if (mod !== 'gateway') return undefined;
  if (`gateway/${folder}` === SHARED) return 'shared';
  return DOORS.find((d) => d === folder);
};

/** A front door importing another, or the shared layer importing a door. */
function doorViolations(edges: readonly Edge[]): string[] {
  return edges.flatMap((e) => {
    const from = doorOf(e.from);
    const to = doorOf(e.to);
    if (!from || !to || to === 'shared' || from === to) return [];
    return [from === 'shared' ? `${show(e)}: the shared layer may not import a front door` : `${show(e)}: front door ${from} may not import front door ${to}`];
  });
}

const roomOf = (file: string): string | undefined => {
  const parts = file.split('/');
  return MODULES_WITH_ROOMS.includes(parts[0]!) && parts.length > 2 ? `${parts[0]}/${parts[1]}` : undefined;
};

/** An import into a room from outside it that does not go through the room's index.ts. */
function roomViolations(edges: readonly Edge[]): string[] {
  return edges.flatMap((e) => {
    const room = roomOf(e.to);
    if (!room || roomOf(e.from) === room || e.to === `${room}/index.ts`) return [];
    return [`${show(e)}: enter ${room} through its index.ts`];
  });
}

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

const files = walk(src, false);
const edges = edgesOf(files, src);

describe('import graph', () => {
  it('has every source module in the map', () => {
    for (const f of files) expect(Object.keys(ALLOWED), path.relative(src, f)).toContain(moduleOf(posix(path.relative(src, f))));
  });

  it('keeps modules behind their index.ts and within the allowed dependencies', () => {
    expect(moduleViolations(edges)).toEqual([]);
  });

  it('keeps the kernel free of I/O and third-party code', () => {
    const violations = files
      .filter((f) => moduleOf(posix(path.relative(src, f))) === 'kernel')
      .flatMap((f) =>
        importsOf(f)
          .filter((s) => !s.startsWith('.') && !KERNEL_BUILTINS.has(s))
          .map((s) => `${path.relative(src, f)} imports ${s}`),
      );
    expect(violations).toEqual([]);
  });

  it('has no import cycle among source files (type-only imports included)', () => {
    expect(findCycles(edges)).toEqual([]);
  });

  it('has no import between the front doors, and the shared HTTP layer imports neither', () => {
    expect(doorViolations(edges)).toEqual([]);
  });

  it('gives every room its index.ts and enters each room only through it', () => {
    const rooms = MODULES_WITH_ROOMS.flatMap((m) =>
      readdirSync(path.join(src, m))
        .filter((d) => statSync(path.join(src, m, d)).isDirectory())
        .map((d) => `${m}/${d}`),
    );
    expect(rooms.filter((r) => !files.some((f) => posix(path.relative(src, f)) === `${r}/index.ts`))).toEqual([]);
    expect(roomViolations(edges)).toEqual([]);
  });

  it('keeps the dev-only identity provider out of identity and imported only by the quick start, `custos token` and the test harness', () => {
    const everything = edgesOf([...walk(src, true), ...walk(path.join(root, 'test'), true)], root);
    const importers = everything.filter((e) => e.to.startsWith(`src/${DEV_IDP}/`) && !e.from.startsWith(`src/${DEV_IDP}/`)).map((e) => e.from);
    expect([...new Set(importers)].sort()).toEqual([...DEV_IDP_IMPORTERS].sort());
  });
});

describe('the checkers fail on a violation', () => {
  const edge = (from: string, to: string): Edge => ({ from, to, spec: to });

  it('finds a cycle of three files, a two-file type cycle and a self-import, and nothing in a chain', () => {
    expect(
      findCycles([edge('gateway/mcp/a.ts', 'gateway/mcp/b.ts'), edge('gateway/mcp/b.ts', 'gateway/mcp/c.ts'), edge('gateway/mcp/c.ts', 'gateway/mcp/a.ts')]),
    ).toEqual([['gateway/mcp/a.ts', 'gateway/mcp/b.ts', 'gateway/mcp/c.ts']]);
    expect(findCycles([edge('x/a.ts', 'x/b.ts'), edge('x/b.ts', 'x/a.ts'), edge('x/c.ts', 'x/c.ts')])).toHaveLength(2);
    expect(findCycles([edge('x/a.ts', 'x/b.ts'), edge('x/b.ts', 'x/c.ts'), edge('x/a.ts', 'x/c.ts')])).toEqual([]);
  });

  it('flags a door importing a door and the shared layer importing a door, not a door importing shared', () => {
    expect(doorViolations([edge('gateway/mcp/governed-call.ts', 'gateway/http/decision-api.ts')])).toHaveLength(1);
    expect(doorViolations([edge('gateway/http/session-check.ts', 'gateway/mcp/tool-names.ts')])).toHaveLength(1);
    expect(doorViolations([edge('gateway/shared/auth.ts', 'gateway/http/schemas.ts')])).toHaveLength(1);
    expect(doorViolations([edge('gateway/mcp/mcp-endpoint.ts', 'gateway/shared/auth.ts'), edge('gateway/gateway.ts', 'gateway/http/health.ts')])).toEqual([]);
  });

  it('flags an import past a room index.ts, from another room or from the module root', () => {
    expect(roomViolations([edge('identity/emergency/grants.ts', 'identity/sessions/types.ts')])).toHaveLength(1);
    expect(roomViolations([edge('identity/services.ts', 'identity/delegation/background-grants.ts')])).toHaveLength(1);
    expect(
      roomViolations([
        edge('identity/emergency/grants.ts', 'identity/sessions/index.ts'),
        edge('identity/sessions/sqlite-store.ts', 'identity/sessions/types.ts'),
      ]),
    ).toEqual([]);
  });

  it('flags the gateway importing an implementation, a module past its index.ts, and the dev provider from elsewhere', () => {
    expect(moduleViolations([edge('gateway/gateway.ts', 'upstream/index.ts')])).toHaveLength(1);
    expect(moduleViolations([edge('gateway/fake.ts', 'audit/sqlite-store.ts')])).toHaveLength(1);
    expect(moduleViolations([edge('app/start.ts', 'identity/sessions/index.ts')])).toHaveLength(1);
    expect(moduleViolations([edge('app/start.ts', 'identity/dev-idp/index.ts')])).toHaveLength(1);
    expect(moduleViolations([edge('app/quickstart.ts', 'identity/dev-idp/index.ts'), edge('app/start.ts', 'upstream/index.ts')])).toEqual([]);
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
      .flatMap((f) =>
        importsOf(f)
          .filter((s) => s.startsWith('.') && isHelper(resolveImport(f, s)))
          .map((s) => `${path.relative(src, f)} -> ${s}`),
      );
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
    const fakeImports = (f: string): string[] =>
      ({ [test]: ['./fixtures.test-helpers.js'], [runner]: ['vitest'], [code]: ['./fake.test-support.js'] })[f] ?? [];
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

/**
 * The module map of DESIGN.md, enforced over the import graph: the kernel is free of I/O
 * and of every other module; modules meet only at each other's index.ts; the gateway sees
 * ports, not implementations; only app (and the thin cli) compose.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../src');

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
  gateway: ['kernel'],
  config: ['kernel'],
  app: ['kernel', 'identity', 'policy', 'protect', 'audit', 'export', 'monitor', 'gateway', 'evidence', 'config'],
  cli: ['kernel', 'identity', 'policy', 'protect', 'audit', 'export', 'monitor', 'evidence', 'config', 'app'],
};
const KERNEL_BUILTINS = new Set(['node:crypto']);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : /\.ts$/.test(name) && !name.endsWith('.test.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!);
}

const files = walk(src);
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

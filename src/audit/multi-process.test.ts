/**
 * Several OS processes appending to one SQLite file: BEGIN IMMEDIATE and the busy timeout
 * must keep seq contiguous and the chain intact. The module is transpiled to plain JS so
 * child processes can load it without a TypeScript loader.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditStore, verifyStore } from './index.js';
import { collect, makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';

const run = promisify(execFile);
const SRC = fileURLToPath(new URL('..', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function transpileFolder(name: string, outDir: string): void {
  mkdirSync(join(outDir, name), { recursive: true });
  for (const file of readdirSync(join(SRC, name))) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(join(SRC, name, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    writeFileSync(join(outDir, name, file.replace(/\.ts$/, '.js')), outputText);
  }
}

const WRITER = `
import { createAuditStore } from './audit/index.js';
import { makeEntry } from './audit/index.test-support.js';
const [uri, count, tag] = process.argv.slice(2);
const store = await createAuditStore(uri, { busyTimeoutMs: 20000 });
for (let i = 0; i < Number(count); i++) await store.append(makeEntry(i + 1, { request_id: tag + '-' + i }));
await store.close();
`;

describe('several processes sharing one sqlite file', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = makeTempDir();
    transpileFolder('kernel', dir.path);
    transpileFolder('audit', dir.path);
    writeFileSync(join(dir.path, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir.path, 'writer.js'), WRITER);
    symlinkSync(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'), 'dir');
  });
  afterAll(() => dir.remove());

  it('keeps seq contiguous and the chain intact', async () => {
    const uri = `sqlite:${join(dir.path, 'data', 'audit.sqlite')}`;
    const first = await createAuditStore(uri);
    await first.append(makeEntry(1, { request_id: 'parent-0' }));
    const writers = ['a', 'b', 'c', 'd'].map((tag) => run(process.execPath, [join(dir.path, 'writer.js'), uri, '100', tag], { cwd: dir.path }));
    for (let i = 1; i <= 20; i++) await first.append(makeEntry(i, { request_id: `parent-${i}` }));
    await Promise.all(writers);
    const records = await collect(first.read());
    await first.close();

    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 421 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.request_id)).size).toBe(421);
    expect(await verifyStore(uri)).toMatchObject({ ok: true, count: 421 });
  });
});

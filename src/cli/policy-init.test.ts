/** `custos policy init --from-upstreams` against the real @modelcontextprotocol/server-filesystem. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { classesOf } from '../policy/index.js';
import { runCliCaptured } from './cli.test-support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serverFilesystem = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

describe('custos policy init --from-upstreams', () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-policy-init-'));
    mkdirSync(path.join(dir, 'workspace'));
    config = path.join(dir, 'custos.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] },
        upstreams: [{ name: 'filesystem', command: 'node', args: [serverFilesystem, './workspace'] }],
        policy: { bundle: './bundle' },
        audit: { store: 'sqlite:./data/audit.sqlite' },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a bundle that `custos policy validate` accepts, classing the tools by annotations and names', async () => {
    const bundle = path.join(dir, 'starter');
    const init = await runCliCaptured(['policy', 'init', bundle, '--from-upstreams', '--config', config]);
    expect(init.code ?? 0, init.err).toBe(0);
    expect(init.out).toMatch(/starter bundle written to .*: \d+ tool\(s\) from 1 upstream/);
    const catalog = parse(readFileSync(path.join(bundle, 'catalog.yaml'), 'utf8')) as { tools: Record<string, { classes: string[] }> };
    expect(catalog.tools['filesystem/read_text_file']).toEqual({ classes: ['read'] });
    expect(catalog.tools['filesystem/list_directory']).toEqual({ classes: ['read'] });
    expect(catalog.tools['filesystem/write_file']?.classes).toContain('writes');
    expect(catalog.tools['filesystem/move_file']?.classes).toEqual(['writes', 'destructive']);
    const validate = await runCliCaptured(['policy', 'validate', bundle]);
    expect(validate.code ?? 0, validate.err).toBe(0);
    expect(validate.out).toMatch(/^bundle ok: starter version 1 \(enforce\), 4 policies/);
  });

  it('refuses to overwrite an existing directory', async () => {
    const existing = path.join(dir, 'existing');
    mkdirSync(existing);
    writeFileSync(path.join(existing, 'catalog.yaml'), 'mine');
    const init = await runCliCaptured(['policy', 'init', existing, '--from-upstreams', '--config', config]);
    expect(init.code).not.toBe(0);
    expect(init.err).toContain('exists already');
    expect(readFileSync(path.join(existing, 'catalog.yaml'), 'utf8')).toBe('mine');
    expect(existsSync(path.join(existing, 'policies'))).toBe(false);
  });

  it('classes by annotations first: readOnlyHint, then destructiveHint, then the name', () => {
    expect(classesOf({ server: 's', name: 'sync', annotations: { readOnlyHint: true } })).toEqual(['read']);
    expect(classesOf({ server: 's', name: 'read_and_mark', annotations: { readOnlyHint: false, destructiveHint: false } })).toEqual(['writes']);
    expect(classesOf({ server: 's', name: 'upsert', annotations: { destructiveHint: true } })).toEqual(['writes', 'destructive']);
    expect(classesOf({ server: 's', name: 'delete_file' })).toEqual(['writes', 'destructive']);
    expect(classesOf({ server: 's', name: 'get_info' })).toEqual(['read']);
  });
});

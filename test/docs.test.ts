/**
 * Docs that state a contract must agree with the code: generated references match their
 * sources (run `npm run gen` after changing them), and the codes, statuses and field values
 * the hand-written docs name are the ones the code uses.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, JSON_RPC_CODES, generateErrorsDoc } from '../src/gateway/index.js';
import { ALL_DENY_REASONS, ERROR_CODES } from '../src/kernel/index.js';
import { listDetectors } from '../src/protect/index.js';
import { createMemoryAudit, makeEntry } from '../src/audit/index.test-support.js';
import { anchorObjectName, toOcsf } from '../src/export/index.js';
import { BACKUP_SCHEMA } from '../src/cli/backup.js';
import { CONTROL_TESTS } from '../src/evidence/index.js';

const root = path.resolve(import.meta.dirname, '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

/** The text of a markdown section: from its heading to the next heading of the same or a higher level. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = doc.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\n#{1,${level}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : /\.ts$/.test(name) && !/\.test\.ts$|[/\\]test-[^/\\]*$/.test(full) ? [full] : [];
  });
}
const source = sourceFiles(path.join(root, 'src'))
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');
const docFiles = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('docs/errors.md', () => {
  it('is up to date and lists every error code', () => {
    const doc = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    expect(doc).toBe(generateErrorsDoc());
    for (const code of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${code}\``);
  });
});

describe('error codes in the code', () => {
  it('are each raised somewhere, not only defined: a code names what it is used for', () => {
    const users = sourceFiles(path.join(root, 'src'))
      .filter((f) => !/[/\\](kernel|gateway)[/\\]errors\.ts$/.test(f))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const code of Object.keys(ERROR_CODES)) expect(users, code).toMatch(new RegExp(`\\b${code}\\b`));
  });
});

describe('docs/audit-schema.md: deny reasons', () => {
  it('lists exactly the deny reasons of the code', () => {
    const table = section(read('docs/audit-schema.md'), '### Deny reasons');
    const documented = [...table.matchAll(/^\| (.+?) \|/gm)].flatMap(([, cell]) => [...cell!.matchAll(/`([^`]+)`/g)].map(([, r]) => r));
    expect([...documented].sort()).toEqual([...ALL_DENY_REASONS].sort());
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

describe('error codes and HTTP statuses in the docs', () => {
  it('name only codes that exist', () => {
    for (const file of docFiles) {
      for (const [code] of read(file).matchAll(/\bERR_[A-Z_]+/g)) {
        if (code.endsWith('_')) continue; // a family: ERR_IDENTITY_*, ERR_GATEWAY_UPSTREAM_…
        expect(Object.keys(ERROR_CODES), `${file}: ${code}`).toContain(code);
      }
    }
  });

  it('give every "status `code`" pair the status the gateway answers with', () => {
    let pairs = 0;
    for (const file of docFiles) {
      for (const [, status, code] of read(file).matchAll(/\b([1-5]\d\d)\s+\(?`(ERR_[A-Z_]+)`/g)) {
        expect(ERROR_TABLE[code as keyof typeof ERROR_TABLE]?.status, `${file}: ${status} ${code}`).toBe(Number(status));
        pairs += 1;
      }
    }
    expect(pairs).toBeGreaterThan(5);
  });

  it('docs/api.md: the status table covers every code with its status', () => {
    const rows = [...section(read('docs/api.md'), '## Errors').matchAll(/^\| (\d{3}) \| (.+) \|$/gm)];
    const named = new Map<string, number>();
    const families: Array<{ prefix: string; status: number }> = [];
    let rest: number | undefined;
    for (const [, status, text] of rows) {
      for (const [, code] of text!.matchAll(/`(ERR_[A-Z_]+)`/g)) named.set(code!, Number(status));
      for (const [, prefix] of text!.matchAll(/`(ERR_[A-Z_]+_)\*`/g)) families.push({ prefix: prefix!, status: Number(status) });
      if (/everything else/.test(text!)) rest = Number(status);
    }
    expect(rest).toBe(500);
    for (const [code, { status }] of Object.entries(ERROR_TABLE)) {
      const documented = named.get(code) ?? families.find((f) => code.startsWith(f.prefix))?.status ?? rest;
      expect(documented, code).toBe(status);
    }
  });

  it('docs/api.md: lists exactly the JSON-RPC error codes the gateway uses', () => {
    const text = section(read('docs/api.md'), '## Errors');
    const listed = [...text.slice(text.indexOf('On MCP')).matchAll(/-32\d{3}/g)].map((m) => Number(m[0]));
    expect([...new Set(listed)].sort()).toEqual([...new Set(Object.values(JSON_RPC_CODES))].sort());
  });

  it('docs/api.md: the session limit is a 503, not a 400', () => {
    expect(ERROR_TABLE.ERR_GATEWAY_SESSION_LIMIT.status).toBe(503);
    const errors = section(read('docs/api.md'), '## Errors');
    expect(errors).toMatch(/^\| 503 \|.*`ERR_GATEWAY_SESSION_LIMIT`/m);
    expect(errors).not.toMatch(/^\| 400 \|.*session limit/m);
  });
});

describe('docs/audit-schema.md', () => {
  const doc = read('docs/audit-schema.md');

  it('names the confirmation channels as the rows carry them', () => {
    const channels = [...source.matchAll(/CONFIRMATION_CHANNEL = '([^']+)'/g)].map((m) => m[1]!).sort();
    expect(channels).toEqual(['api', 'mcp_elicitation']);
    for (const c of channels) expect(doc).toContain(`"${c}"`);
    expect(doc).not.toMatch(/channel[^|\n]*"mcp"/);
  });

  it('lists every admin action the code writes, and none it does not', () => {
    const table = section(doc, '### Admin rows');
    const documented = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThan(5);
    for (const action of documented) expect(source, action).toContain(`'${action}'`);
    const written = new Set([...source.matchAll(/\baction: '([a-z_]+)'/g)].map((m) => m[1]!));
    for (const action of written) expect(documented, action).toContain(action);
  });

  it('documents the OCSF export that is built, and every attribute its table names is produced', async () => {
    expect(doc).toContain('## OCSF mapping\n');
    expect(read('src/cli/commands.ts')).toMatch(/choices\(\['jsonl', 'ocsf'\]\)/);
    const section = doc.slice(doc.indexOf('## OCSF mapping'));
    const attributes = [...section.matchAll(/^\| ([^|]+) \|/gm)]
      .flatMap((m) => [...m[1]!.matchAll(/`([a-z_.]+)`/g)].map((a) => a[1]!))
      .filter((a) => a !== 'ocsf');
    expect(attributes.length).toBeGreaterThan(40);
    const events = (await ocsfSamples()).map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>);
    const has = (event: Record<string, unknown>, dotted: string): boolean =>
      dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), event) !== undefined;
    for (const attribute of attributes)
      expect(
        events.some((e) => has(e, attribute)),
        attribute,
      ).toBe(true);
  });

  it('names anchored objects as the anchor sinks write them, and the --anchor option custos audit verify has', () => {
    expect(anchorObjectName({ seq: 42, event: 'checkpoint' })).toBe('checkpoint-000000000042.json');
    expect(section(doc, '### External anchors')).toContain('`checkpoint-000000000042.json`');
    expect(read('src/cli/commands.ts')).toContain("'--anchor <dir:PATH|sink>'");
    for (const type of ['directory', 's3']) expect(section(doc, '### External anchors')).toContain(`| \`${type}\` |`);
  });

  it('documents the backup manifest the CLI writes', () => {
    const backups = section(doc, '### Backups');
    expect(backups).toContain(`"schema": "${BACKUP_SCHEMA}"`);
    for (const field of ['created_at', 'head_seq', 'head_hash', 'sha256', 'checkpoint_key_id', 'skipped'])
      expect(read('src/cli/backup.ts'), field).toContain(field);
  });

  it('documents the --expect-head option that custos audit verify has', () => {
    expect(doc).toContain('custos audit verify --expect-head SEQ:HASH');
    expect(read('src/cli/commands.ts')).toContain("'--expect-head <seq:hash>'");
  });
});

/** One row of each kind, with every optional field the OCSF table maps, as OCSF events. */
async function ocsfSamples(): Promise<unknown[]> {
  const store = createMemoryAudit();
  const deny = { decision: 'deny' as const, bundle_hash: 'a'.repeat(64), determining_policies: ['p'], reasons: ['r'] };
  await store.append(
    makeEntry(1, {
      user: { sub: 'u', iss: 'https://idp.example.com', email: 'u@example.com', tenant: 't', session_id: 's' },
      trace_id: 'f'.repeat(32),
      agent: { name: 'a', runtime: 'node', version: '1', tier: 'interactive', declared_tier: 'interactive', delegation_chain: ['user:u'] },
      confirmation: { status: 'accepted', channel: 'mcp_elicitation' },
      access: { emergency: true, grant_id: 'g' },
    }),
  );
  await store.append(makeEntry(2, { output: { redacted: null, sha256: 'c'.repeat(64), error: 'ERR_GATEWAY_UPSTREAM_FAILED' } }));
  await store.append(makeEntry(3, { event: 'auth_failure', user: { sub: null, anonymous: true }, policy: deny, detail: { source: '192.0.2.1' } }));
  await store.append(makeEntry(4, { egress: { destination: 'https://api.example.com:443', payload_sha256: 'd'.repeat(64) } }));
  await store.append(makeEntry(5, { egress: { destination: 'http://192.0.2.7:8080', payload_sha256: 'd'.repeat(64) } }));
  return store.rows.map(toOcsf);
}

describe('README: what is redacted today', () => {
  it('names exactly the redaction types the detectors produce', () => {
    const readme = read('README.md');
    const line = /What is redacted today \(types ([^)]+)\)/.exec(readme);
    expect(line).not.toBeNull();
    const named = [...line![1]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).sort();
    expect(named).toEqual([...new Set(listDetectors().map((d) => d.type))].sort());
  });
});

describe('docs/api.md: the decision API SDK', () => {
  it('is described as planned while there is no sdk/ package', () => {
    const text = section(read('docs/api.md'), '## Decision API');
    if (!existsSync(path.join(root, 'sdk'))) expect(text).toMatch(/SDK[^.]*is planned, not\s+built/);
  });
});

describe('docs/evidence.md', () => {
  it('lists exactly the live control tests the pack runs', () => {
    const listed = [...section(read('docs/evidence.md'), '## The live control tests').matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.values(CONTROL_TESTS).sort());
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../kernel/index.js';
import { checkpointKeyCommand, generateConfigDoc, generateConfigJsonSchema, loadConfig, resolveConfig } from './index.js';
import { copyQuickstartCheckout } from './index.test-support.js';

const root = path.resolve(import.meta.dirname, '../..');

function writeConfig(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-config-'));
  const file = path.join(dir, 'custos.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown, code = 'ERR_CONFIG_INVALID'): string[] {
  try {
    fn();
  } catch (err) {
    if (isCustosError(err) && err.code === code) return err.detail?.problems as string[];
    throw err;
  }
  throw new Error(`expected ${code}`);
}

describe('loadConfig', () => {
  it('loads the quick start config, resolving paths against the file', () => {
    const { root, config, keyFile } = copyQuickstartCheckout({ key: true });
    const cfg = loadConfig(config);
    expect(cfg.server.port).toBe(8787);
    expect(cfg.policy.bundle).toBe(path.join(root, 'examples/quickstart/policy'));
    expect(cfg.audit.store).toBe(`sqlite:${path.join(root, 'data/audit.sqlite')}`);
    expect(cfg.audit.checkpoints.signingKey).toBe(readFileSync(keyFile, 'utf8').trimEnd());
    expect(cfg.upstreams[0]?.cwd).toBe(path.join(root, 'examples/quickstart'));
    expect(cfg.identity.issuers[0]?.clockSkewSec).toBe(60);
    expect(Object.isFrozen(cfg.identity.issuers)).toBe(true);
    expect(cfg.server.trustedProxies).toEqual([]);
    expect(cfg.server.authFailures).toEqual({ burst: 20, perMinute: 30, windowSec: 60, maxSources: 10_000 });
    expect(cfg.identity.jwks.failureRetryMs).toBe(5000);
  });

  it('names the fix for the quick start config without its checkpoint key (npm start, or the openssl command), beside the other problems', () => {
    const { config, keyFile } = copyQuickstartCheckout();
    const command = checkpointKeyCommand(keyFile);
    const alone = problemsOf(() => loadConfig(config), 'ERR_CONFIG_SECRET_UNRESOLVED');
    expect(alone).toEqual([
      `${config}: audit.checkpoints.signingKey: secret file ${keyFile} does not exist; create an Ed25519 key there with \`${command}\` (the quick start's key: run \`npm start\` once, which creates it)`,
    ]);
    expect(command).toBe(`mkdir -p ${path.dirname(keyFile)} && openssl genpkey -algorithm ed25519 -out ${keyFile} && chmod 600 ${keyFile}`);
    // The fix named works: the key it makes is taken.
    execFileSync('sh', ['-c', command]);
    expect(loadConfig(config).audit.checkpoints.signingKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    rmSync(keyFile);
    // Every unresolved reference is listed at once, each with its path.
    writeFileSync(
      config,
      `${readFileSync(config, 'utf8')}\nllm:\n  providers: [{ name: openai, api: openai, url: "https://llm.example", apiKey: env:CUSTOS_TEST_UNSET_KEY }]\n`,
    );
    const both = problemsOf(() => loadConfig(config, {}), 'ERR_CONFIG_SECRET_UNRESOLVED');
    expect(both).toHaveLength(2);
    expect(both[0]).toContain('llm.providers[0].apiKey: environment variable CUSTOS_TEST_UNSET_KEY is not set');
    expect(both[1]).toContain(`audit.checkpoints.signingKey: secret file ${keyFile} does not exist; create an Ed25519 key there`);
  });

  it('defaults audit.busyTimeoutMs by store: 2000 ms on PostgreSQL, 250 ms on SQLite; a set value wins', () => {
    const withAudit = (audit: string) =>
      loadConfig(writeConfig(`identity: { issuers: [{ issuer: https://idp.example, audience: x }] }\npolicy: { bundle: ./policy }\naudit: ${audit}\n`)).audit;
    expect(withAudit('{ store: "postgres://db.internal/custos" }').busyTimeoutMs).toBe(2000);
    expect(withAudit('{ store: "sqlite:./trail.sqlite" }').busyTimeoutMs).toBe(250);
    expect(withAudit('{}').busyTimeoutMs).toBe(250);
    expect(withAudit('{ store: "postgres://db.internal/custos", busyTimeoutMs: 500 }').busyTimeoutMs).toBe(500);
  });

  it('takes trusted proxies only as addresses or CIDR blocks', () => {
    const base = (proxies: string) => `
server: { trustedProxies: ${proxies} }
identity: { issuers: [{ issuer: https://idp.example, audience: x }] }
policy: { bundle: ./policy }
`;
    expect(loadConfig(writeConfig(base('[10.0.0.0/8, "2001:db8::/32", 192.0.2.7]'))).server.trustedProxies).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
      '192.0.2.7',
    ]);
    const problems = problemsOf(() => loadConfig(writeConfig(base('[10.0.0.0/33, lb.internal, "*"]'))));
    expect(problems.filter((p) => p.includes('server.trustedProxies'))).toHaveLength(3);
  });

  it('reports every problem at once, each with file and key path', () => {
    const file = writeConfig(`
server: { port: 99999, colour: blue }
identity:
  issuers:
    - issuer: not-a-url
upstreams:
  - name: Bad__Name
    command: node
    url: http://127.0.0.1:1/mcp
  - name: ok
policy: {}
audit: { store: mysql://x }
`);
    const problems = problemsOf(() => loadConfig(file));
    const joined = problems.join('\n');
    expect(joined).toContain(`${file}: server.port`);
    expect(joined).toContain('server: Unrecognized key: "colour"');
    expect(joined).toContain('identity.issuers[0].issuer');
    expect(joined).toContain('identity.issuers[0].audience');
    expect(joined).toContain('upstreams[0].name');
    expect(joined).toContain('upstreams[1]: set exactly one of `command` or `url`');
    expect(joined).toContain('policy.bundle');
    expect(joined).toContain('audit.store');
    expect(problems.length).toBeGreaterThanOrEqual(8);
  });

  it('refuses inline secrets in headers and resolves env:/file: references without echoing them', () => {
    const inline = writeConfig(`
identity: { issuers: [{ issuer: "https://idp.example.com", audience: custos }] }
upstreams: [{ name: api, url: "https://tools.example.com/mcp", headers: { Authorization: "Bearer hunter2" } }]
policy: { bundle: ./policy }
`);
    const problems = problemsOf(() => loadConfig(inline));
    expect(problems.join('\n')).toContain('upstreams[0].headers.Authorization');
    expect(problems.join('\n')).not.toContain('hunter2');

    const dir = path.dirname(inline);
    writeFileSync(path.join(dir, 'token.txt'), 'Bearer from-file\n');
    const refs = writeConfig(`
identity: { issuers: [{ issuer: "https://idp.example.com", audience: custos }] }
upstreams: [{ name: api, url: "https://tools.example.com/mcp", headers: { Authorization: "file:${path.join(dir, 'token.txt')}", X-Key: "env:CUSTOS_TEST_KEY" } }]
policy: { bundle: ./policy }
`);
    const cfg = loadConfig(refs, { CUSTOS_TEST_KEY: 'k-123' });
    expect(cfg.upstreams[0]?.headers).toEqual({ Authorization: 'Bearer from-file', 'X-Key': 'k-123' });
    const missing = problemsOf(() => loadConfig(refs, {}), 'ERR_CONFIG_SECRET_UNRESOLVED');
    expect(missing.join('\n')).toContain('upstreams[0].headers.X-Key: environment variable CUSTOS_TEST_KEY is not set');
  });

  it('validates upstreams once, with every rule the pool relies on (names, one of command or url, http(s) URLs)', () => {
    const base = { identity: { issuers: [{ issuer: 'https://idp.example', audience: 'x' }] }, policy: { bundle: './policy' } };
    const resolve = (upstreams: unknown[]) => resolveConfig({ ...base, upstreams }, { source: 'custos.yaml', baseDir: '/tmp' });
    const rejected: Array<[unknown[], string]> = [
      [[{ name: 'Bad_Name', command: 'x' }], 'upstreams[0].name'],
      [[{ name: 'a__b', command: 'x' }], 'upstreams[0].name'],
      [[{ name: 'a'.repeat(65), command: 'x' }], 'upstreams[0].name'],
      [[{ name: 'ok' }], 'upstreams[0]: set exactly one of `command` or `url`'],
      [[{ name: 'ok', command: 'x', url: 'http://h' }], 'upstreams[0]: set exactly one of `command` or `url`'],
      [[{ name: 'ok', url: 'ftp://h' }], 'upstreams[0].url: must be an http(s) URL'],
      [[{ name: 'ok', url: 'file:///etc/passwd' }], 'upstreams[0].url: must be an http(s) URL'],
      [[{ name: 'ok', command: 'x', isolation: 'pooled' }], 'upstreams[0].isolation'],
      [[{ name: 'ok', command: 'x', maxSessions: 0 }], 'upstreams[0].maxSessions'],
      [
        [
          { name: 'a', command: 'x' },
          { name: 'a', command: 'y' },
        ],
        'upstreams[1].name: duplicate upstream name',
      ],
    ];
    for (const [upstreams, problem] of rejected) expect(problemsOf(() => resolve(upstreams)).join('\n'), JSON.stringify(upstreams)).toContain(problem);
    expect(resolve([{ name: 'a'.repeat(64), url: 'https://tools.example/mcp' }]).upstreams[0]?.name).toHaveLength(64);
  });

  it('requires https:// for issuers, upstreams and providers off loopback, every one reported with its key and the fix', () => {
    const raw = {
      identity: { issuers: [{ issuer: 'http://idp.example', audience: 'x', jwksUri: 'http://idp.example/jwks' }] },
      upstreams: [{ name: 'tools', url: 'http://tools.example/mcp' }],
      llm: { providers: [{ name: 'openai', api: 'openai', url: 'http://llm.example' }] },
      policy: { bundle: './policy' },
    };
    const problems = problemsOf(() => resolveConfig(raw, { source: 'custos.yaml', baseDir: '/tmp' })).join('\n');
    const cases: Array<[string, string]> = [
      ['identity.issuers[0].issuer', 'identity.issuers[0].connection.allowHttp: true'],
      ['identity.issuers[0].jwksUri', 'identity.issuers[0].connection.allowHttp: true'],
      ['upstreams[0].url', 'upstreams[0].connection.allowHttp: true'],
      ['llm.providers[0].url', 'llm.providers[0].connection.allowHttp: true'],
    ];
    for (const [key, fix] of cases)
      expect(problems).toMatch(
        new RegExp(`${key.replace(/[[\].]/g, '\\$&')}: http:// to a host that is not loopback .*use https://, or set ${fix.replace(/[[\].]/g, '\\$&')}`),
      );
    const allowed = resolveConfig(
      {
        ...raw,
        identity: { issuers: [{ ...raw.identity.issuers[0], connection: { allowHttp: true } }] },
        upstreams: [{ ...raw.upstreams[0], connection: { allowHttp: true } }],
        llm: { providers: [{ ...raw.llm.providers[0], connection: { allowHttp: true } }] },
      },
      { source: 'custos.yaml', baseDir: '/tmp' },
    );
    expect(allowed.upstreams[0]?.connection.allowHttp).toBe(true);
    const loopback = {
      ...raw,
      identity: { issuers: [{ issuer: 'http://127.0.0.1:9000', audience: 'x' }] },
      upstreams: [{ name: 't', url: 'http://localhost:3000/mcp' }],
      llm: {},
    };
    expect(resolveConfig(loopback, { source: 'custos.yaml', baseDir: '/tmp' }).upstreams).toHaveLength(1);
    expect(
      problemsOf(() =>
        resolveConfig(
          { ...loopback, upstreams: [{ name: 't', url: 'https://t.example', connection: { pins: ['sha1/abc'] } }] },
          { source: 'c', baseDir: '/tmp' },
        ),
      ).join(),
    ).toContain('upstreams[0].connection.pins[0]');
  });

  it('reports YAML syntax errors and a missing file', () => {
    expect(problemsOf(() => loadConfig(writeConfig('server: [unclosed')))[0]).toMatch(/line \d+/);
    expect(problemsOf(() => loadConfig('/nonexistent/custos.yaml'))[0]).toContain('cannot read the file');
  });
});

describe('generated references', () => {
  it('schema/custos.config.schema.json and docs/config.md are up to date (run `npm run gen`)', () => {
    expect(readFileSync(path.join(root, 'schema/custos.config.schema.json'), 'utf8')).toBe(generateConfigJsonSchema());
    expect(readFileSync(path.join(root, 'docs/config.md'), 'utf8')).toBe(generateConfigDoc());
  });
});

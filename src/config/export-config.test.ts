/** The `export` section: sinks by type, strict, secrets as references, paths relative to the config file. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './index.js';

const base = { identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] }, policy: { bundle: './bundle' } };
const resolve = (exportSection: unknown, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig({ ...base, export: exportSection }, { source: '/etc/custos/custos.yaml', baseDir: '/etc/custos', env });

describe('export config', () => {
  it('defaults to no sinks, the state dir beside the config file', () => {
    const cfg = resolveConfig(base, { source: '/etc/custos/custos.yaml', baseDir: '/etc/custos', env: {} });
    expect(cfg.export).toEqual({ stateDir: path.resolve('/etc/custos/data/export'), pollMs: 1000, retry: { minMs: 500, maxMs: 30_000 }, sinks: [] });
  });

  it('resolves secret references and relative paths of every sink type', () => {
    const cfg = resolve(
      {
        sinks: [
          { type: 'file', name: 'archive', path: 'out/audit.jsonl', format: 'ocsf' },
          { type: 'webhook', name: 'hook', url: 'https://siem.example.com/in', secret: 'env:HOOK_KEY' },
          { type: 'splunk_hec', name: 'splunk', url: 'https://splunk.example.com:8088', token: 'env:HEC' },
          { type: 'syslog', name: 'syslog', host: 'logs.example.com', tls: { ca: 'ca.pem' } },
          { type: 'otlp', name: 'otel', url: 'http://collector:4318/v1/logs', headers: { 'x-api-key': 'env:OTEL_KEY' } },
        ],
      },
      { HOOK_KEY: 'hk', HEC: 'ht', OTEL_KEY: 'ok' },
    );
    const [file, hook, splunk, syslog, otel] = cfg.export.sinks;
    expect(file).toMatchObject({ path: '/etc/custos/out/audit.jsonl', format: 'ocsf', rotateBytes: 100 * 1024 * 1024, maxFiles: 10, batchSize: 100 });
    expect(hook).toMatchObject({ secret: 'hk', format: 'jsonl' });
    expect(splunk).toMatchObject({ token: 'ht', sourcetype: 'custos:audit', source: 'custos' });
    expect(syslog).toMatchObject({ port: 6514, facility: 13, appName: 'custos', tls: { ca: '/etc/custos/ca.pem' } });
    expect(otel).toMatchObject({ headers: { 'x-api-key': 'ok' }, serviceName: 'custos' });
    expect(Object.isFrozen(cfg.export.sinks[1])).toBe(true);
  });

  it('refuses inline secrets, unknown keys and types, duplicate names, and lists unresolved references', () => {
    expect(() => resolve({ sinks: [{ type: 'webhook', name: 'hook', url: 'https://x.example.com', secret: 'plain-secret' }] })).toThrow(
      /export\.sinks\[0\]\.secret: must be a secret reference/,
    );
    expect(() => resolve({ sinks: [{ type: 'file', name: 'a', path: 'x', colour: 'red' }] })).toThrow(/export\.sinks\[0\]/);
    expect(() => resolve({ sinks: [{ type: 'kafka', name: 'a' }] })).toThrow(/export\.sinks\[0\]/);
    expect(() =>
      resolve({
        sinks: [
          { type: 'file', name: 'a', path: 'x' },
          { type: 'file', name: 'a', path: 'y' },
        ],
      }),
    ).toThrow(/duplicate sink name "a"/);
    expect(() => resolve({ sinks: [{ type: 'file', name: 'Bad Name', path: 'x' }] })).toThrow(/export\.sinks\[0\]\.name/);
    expect(() => resolve({ sinks: [{ type: 'splunk_hec', name: 's', url: 'https://s.example.com', token: 'env:MISSING_HEC' }] })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_SECRET_UNRESOLVED',
        message: expect.stringContaining('export.sinks[0].token: environment variable MISSING_HEC is not set'),
      }),
    );
  });
});

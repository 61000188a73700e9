/**
 * Load a YAML config file: parse, validate against the schema, resolve relative paths and
 * secret references, freeze. Every problem is reported at once, each with the file and
 * the key path, and none of them quotes a secret value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { CustosError } from '../kernel/index.js';
import { configSchema } from './schema.js';
import type { CustosConfig, KeyConfig } from './schema.js';

/** A registry key with its material (or its token's PIN) read from the reference. */
export interface ResolvedKey {
  readonly id: string;
  readonly use: KeyConfig['use'];
  readonly material?: string;
  readonly pkcs11?: { readonly module: string; readonly token: string; readonly label: string; readonly pin: string };
}

/** A config whose paths are absolute and whose secret references are resolved. */
export type ResolvedConfig = Omit<CustosConfig, 'keys'> & { readonly keys: readonly ResolvedKey[]; readonly source: string; readonly baseDir: string };

export function formatIssuePath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${String(s)}` : String(s);
  return out || '(root)';
}

function configError(source: string, problems: string[], code: 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_SECRET_UNRESOLVED' = 'ERR_CONFIG_INVALID'): CustosError {
  return new CustosError(code, `${source}: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, {
    detail: { source, problems },
  });
}

function zodProblems(source: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${source}: ${formatIssuePath(i.path)}: ${i.message}`);
}

/**
 * Read a secret reference (`env:NAME`, `file:PATH`); problems are appended, never thrown.
 * `createHint`, for a file that does not exist: how to make it (named in the problem).
 */
function resolveSecret(ref: string, where: string, baseDir: string, env: NodeJS.ProcessEnv, problems: string[], createHint?: (file: string) => string): string {
  if (ref.startsWith('env:')) {
    const value = env[ref.slice(4)];
    if (value === undefined) problems.push(`${where}: environment variable ${ref.slice(4)} is not set`);
    return value ?? '';
  }
  if (ref.startsWith('file:')) {
    const file = path.resolve(baseDir, ref.slice(5));
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' && createHint;
      problems.push(missing ? `${where}: secret file ${file} does not exist; ${createHint(file)}` : `${where}: secret file ${file} cannot be read`);
      return '';
    }
  }
  return ref;
}

/**
 * A sink credential: a secret reference, or `key:ID`, a `secret` key of the registry (the
 * `keys` section), read from that key's reference. Problems are appended, never thrown.
 */
function resolveCredential(ref: string, where: string, ctx: ResolveContext): string {
  if (!ref.startsWith('key:')) return resolveSecret(ref, where, ctx.baseDir, ctx.env, ctx.problems);
  const id = ref.slice(4);
  const key = ctx.keys.find((k) => k.id === id);
  if (!key || key.use !== 'secret' || key.ref === undefined) {
    ctx.problems.push(
      `${where}: ${key ? `key ${id} is registered for ${key.use}, not secret` : `no key with id "${id}" in keys (a key:ID credential needs a secret key)`}`,
    );
    return '';
  }
  return resolveSecret(key.ref, `${where} (key ${id})`, ctx.baseDir, ctx.env, ctx.problems);
}

/** The command that makes a checkpoint signing key at `file` (an Ed25519 private key, PKCS#8 PEM, mode 0600). */
export const checkpointKeyCommand = (file: string): string =>
  `mkdir -p ${path.dirname(file)} && openssl genpkey -algorithm ed25519 -out ${file} && chmod 600 ${file}`;

/** How to make a missing checkpoint signing key (docs/deploy.md for production keys). */
const checkpointKeyHint = (file: string): string =>
  `create an Ed25519 key there with \`${checkpointKeyCommand(file)}\` (the quick start's key: run \`npm start\` once, which creates it)`;

interface ResolveContext {
  readonly source: string;
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly problems: string[];
  readonly keys: CustosConfig['keys'];
}

const isRef = (v: string): boolean => /^(env|file):.+$/.test(v);

/** export: paths made absolute, secret references resolved (problems appended). */
function resolveExport(section: CustosConfig['export'], ctx: ResolveContext): CustosConfig['export'] {
  return { ...section, stateDir: path.resolve(ctx.baseDir, section.stateDir), sinks: resolveSinks(section.sinks, 'export.sinks', ctx) };
}

/** Sinks (export's and the monitor's alert sinks): paths made absolute, secret references resolved. */
function resolveSinks<S extends CustosConfig['export']['sinks'][number]>(list: readonly S[], key: string, ctx: ResolveContext): S[] {
  const { source, baseDir, env, problems } = ctx;
  const where = (i: number, field: string): string => `${source}: ${key}[${i}].${field}`;
  return list.map((sink, i): S => {
    switch (sink.type) {
      case 'file':
        return { ...sink, path: path.resolve(baseDir, sink.path) };
      case 'webhook':
        return { ...sink, secret: resolveCredential(sink.secret, where(i, 'secret'), ctx) };
      case 'splunk_hec':
        return { ...sink, token: resolveSecret(sink.token, where(i, 'token'), baseDir, env, problems) };
      case 'syslog':
        return sink.tls?.ca === undefined ? sink : { ...sink, tls: { ...sink.tls, ca: path.resolve(baseDir, sink.tls.ca) } };
      case 'otlp':
        return {
          ...sink,
          headers: Object.fromEntries(Object.entries(sink.headers).map(([k, v]) => [k, resolveSecret(v, where(i, `headers.${k}`), baseDir, env, problems)])),
        };
      case 'directory':
        return { ...sink, path: path.resolve(baseDir, sink.path) };
      case 's3':
        return {
          ...sink,
          accessKeyId: resolveCredential(sink.accessKeyId, where(i, 'accessKeyId'), ctx),
          secretAccessKey: resolveCredential(sink.secretAccessKey, where(i, 'secretAccessKey'), ctx),
        };
    }
  });
}

/** monitor: alert sinks and tracing headers resolved. */
function resolveMonitor(section: CustosConfig['monitor'], ctx: ResolveContext): CustosConfig['monitor'] {
  const headers = Object.entries(section.tracing.headers).map(([k, v]) => [
    k,
    resolveSecret(v, `${ctx.source}: monitor.tracing.headers.${k}`, ctx.baseDir, ctx.env, ctx.problems),
  ]);
  return {
    ...section,
    alerts: { sinks: resolveSinks(section.alerts.sinks, 'monitor.alerts.sinks', ctx) },
    tracing: { ...section.tracing, headers: Object.fromEntries(headers) },
  };
}

/** A destination's `connection` with its CA file made absolute. */
function resolveConnection<C extends { readonly ca?: string }>(connection: C, baseDir: string): C {
  return connection.ca === undefined ? connection : { ...connection, ca: path.resolve(baseDir, connection.ca) };
}

/** Validate a config object (already parsed) and resolve it relative to `baseDir`. */
export function resolveConfig(raw: unknown, options: { source: string; baseDir: string; env?: NodeJS.ProcessEnv }): ResolvedConfig {
  const { source, baseDir } = options;
  const env = options.env ?? process.env;
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw configError(source, zodProblems(source, parsed.error));
  const cfg = parsed.data;
  const problems: string[] = [];
  const upstreams = cfg.upstreams.map((u, i) => ({
    ...u,
    cwd: u.command ? path.resolve(baseDir, u.cwd ?? '.') : u.cwd,
    roots: u.roots.map((r) => path.resolve(baseDir, r)),
    env: Object.fromEntries(
      Object.entries(u.env).map(([k, v]) => [k, isRef(v) ? resolveSecret(v, `${source}: upstreams[${i}].env.${k}`, baseDir, env, problems) : v]),
    ),
    headers: Object.fromEntries(
      Object.entries(u.headers).map(([k, v]) => [k, resolveSecret(v, `${source}: upstreams[${i}].headers.${k}`, baseDir, env, problems)]),
    ),
    connection: resolveConnection(u.connection, baseDir),
  }));
  const providers = cfg.llm.providers.map((p, i) => ({
    ...p,
    ...(p.apiKey === undefined ? {} : { apiKey: resolveSecret(p.apiKey, `${source}: llm.providers[${i}].apiKey`, baseDir, env, problems) }),
    connection: resolveConnection(p.connection, baseDir),
  }));
  const issuers = cfg.identity.issuers.map((s, i) => ({
    ...s,
    ...(s.tokenExchange === undefined
      ? {}
      : {
          tokenExchange: {
            ...s.tokenExchange,
            clientSecret: resolveSecret(s.tokenExchange.clientSecret, `${source}: identity.issuers[${i}].tokenExchange.clientSecret`, baseDir, env, problems),
          },
        }),
    connection: resolveConnection(s.connection, baseDir),
  }));
  const tls = cfg.server.tls && { ...cfg.server.tls, cert: path.resolve(baseDir, cfg.server.tls.cert), key: path.resolve(baseDir, cfg.server.tls.key) };
  const exportSection = resolveExport(cfg.export, { source, baseDir, env, problems, keys: cfg.keys });
  const monitor = resolveMonitor(cfg.monitor, { source, baseDir, env, problems, keys: cfg.keys });
  const store =
    cfg.audit.store.startsWith('sqlite:') && cfg.audit.store !== 'sqlite::memory:'
      ? `sqlite:${path.resolve(baseDir, cfg.audit.store.slice('sqlite:'.length))}`
      : cfg.audit.store;
  const { signingKey } = cfg.audit.checkpoints;
  const checkpoints = {
    ...cfg.audit.checkpoints,
    ...(signingKey === undefined || signingKey.startsWith('key:')
      ? {}
      : { signingKey: resolveSecret(signingKey, `${source}: audit.checkpoints.signingKey`, baseDir, env, problems, checkpointKeyHint) }),
  };
  const keys = cfg.keys.map((k, i): ResolvedKey => {
    const where = `${source}: keys[${i}]`;
    if (k.ref !== undefined) return { id: k.id, use: k.use, material: resolveSecret(k.ref, `${where}.ref`, baseDir, env, problems) };
    const p = k.pkcs11!;
    return {
      id: k.id,
      use: k.use,
      pkcs11: { ...p, module: path.resolve(baseDir, p.module), pin: resolveSecret(p.pin, `${where}.pkcs11.pin`, baseDir, env, problems) },
    };
  });
  // The schema held; what is left are secret references that did not resolve (every one listed).
  if (problems.length) throw configError(source, problems, 'ERR_CONFIG_SECRET_UNRESOLVED');
  return deepFreeze({
    ...cfg,
    server: { ...cfg.server, ...(tls ? { tls } : {}) },
    identity: { ...cfg.identity, issuers },
    upstreams,
    llm: { ...cfg.llm, providers },
    policy: {
      ...cfg.policy,
      bundle: cfg.policy.bundle === undefined ? undefined : path.resolve(baseDir, cfg.policy.bundle),
      stateDir: path.resolve(baseDir, cfg.policy.stateDir),
      git: cfg.policy.git && {
        ...cfg.policy.git,
        repo: /^[a-z+]+:\/\/|^[^/]+@[^:]+:/.test(cfg.policy.git.repo) ? cfg.policy.git.repo : path.resolve(baseDir, cfg.policy.git.repo),
      },
    },
    audit: { ...cfg.audit, store, checkpoints },
    export: exportSection,
    monitor,
    evidence: { ...cfg.evidence, dir: path.resolve(baseDir, cfg.evidence.dir) },
    keys,
    source,
    baseDir,
  });
}

/** A config file read and parsed, not yet validated: `resolveConfig(raw, { source, baseDir })` finishes it. */
export interface ConfigDocument {
  readonly raw: unknown;
  readonly source: string;
  readonly baseDir: string;
}

/** Load, validate and resolve a YAML config file. Throws ERR_CONFIG_INVALID listing every problem. */
export function loadConfig(file: string, env?: NodeJS.ProcessEnv): ResolvedConfig {
  const doc = readConfigFile(file);
  return resolveConfig(doc.raw, { source: doc.source, baseDir: doc.baseDir, env });
}

/** Read and parse a YAML config file (ERR_CONFIG_INVALID when it cannot be read or parsed). */
export function readConfigFile(file: string): ConfigDocument {
  const source = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch {
    throw configError(source, [`${source}: cannot read the file (does it exist?)`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw configError(
      source,
      doc.errors.map((e) => `${source}: line ${e.linePos?.[0]?.line ?? '?'}: ${e.code}`),
    );
  }
  return { raw: doc.toJS() as unknown, source, baseDir: path.dirname(source) };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * `npm start`: a dev-only OIDC provider, Custos from examples/quickstart/custos.yaml, the
 * official filesystem MCP server behind it, and a short demo of real calls through the
 * gateway, all in one process tree.
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readConfigFile, resolveConfig } from '../config/index.js';
import { CustosError } from '../kernel/index.js';
import type { ConfigDocument, ResolvedConfig } from '../config/index.js';
import { fetchDevToken, startDevIdentityProvider } from '../identity/dev-idp/index.js';
import { startCustos } from './start.js';
import type { CustosInstance } from './start.js';
import { createLogger } from './logger.js';
import { ensureCheckpointKey } from './quickstart-key.js';
import type { QuickstartKey } from './quickstart-key.js';

export interface QuickstartOptions {
  readonly root: string;
  readonly port?: number;
  readonly idpPort?: number;
  readonly demo?: boolean;
  readonly print?: (line: string) => void;
  readonly logLevel?: string;
  /** Audit store URI (default: the config's, sqlite:./data/audit.sqlite). */
  readonly store?: string;
  /**
   * The checkpoint signing key's file, created when missing. Default: beside a `sqlite:` `store`
   * given here (checkpoint-key.pem), else the config's (data/checkpoint-key.pem).
   */
  readonly checkpointKey?: string;
}

export interface QuickstartHandle {
  readonly custos: CustosInstance;
  readonly issuer: string;
  close(): Promise<void>;
}

export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartHandle> {
  const print = options.print ?? ((line: string) => console.log(line));
  const port = options.port ?? 8787;
  const idpPort = options.idpPort ?? 8786;
  const doc = readConfigFile(path.join(options.root, 'examples/quickstart/custos.yaml'));
  const key = checkpointKeyOf(doc, options);
  const base = resolveConfig(key ? withSigningKey(doc.raw, key.file) : doc.raw, doc);
  const audience = `http://127.0.0.1:${port}/mcp`;
  const consoleUrl = `http://127.0.0.1:${port}/console/`;
  const idp = await startDevIdentityProvider({ host: '127.0.0.1', port: idpPort, audience, consoleRedirectUri: consoleUrl }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      throw new CustosError(
        'ERR_CONFIG_INVALID',
        `127.0.0.1:${idpPort} (the dev identity provider) is already in use; pass --idp-port or stop the process holding it (is another quick start running?).`,
      );
    },
  );
  const config: ResolvedConfig = {
    ...base,
    server: { ...base.server, port },
    audit: { ...base.audit, store: options.store ?? base.audit.store },
    identity: { ...base.identity, issuers: base.identity.issuers.map((i) => ({ ...i, issuer: idp.issuer, audience })) },
  };
  let custos: CustosInstance;
  try {
    custos = await startCustos(config, { logger: createLogger(options.logLevel ?? 'warn') });
  } catch (err) {
    await idp.close();
    throw err;
  }
  const close = async (): Promise<void> => {
    await custos.close();
    await idp.close();
  };
  const rel = (p: string): string => path.relative(process.cwd(), p) || '.';
  print('Custos quick start');
  print(`  identity provider  ${idp.issuer}  (DEV ONLY: demo users alice = clinician, bob = billing clerk)`);
  print(`  MCP endpoint       ${custos.mcpUrl}`);
  print(`  console            ${consoleUrl}  (sign in as audrey = auditor, read-only; sam = security; ada = admin)`);
  print(`  policy bundle      ${config.policy.bundle ? rel(config.policy.bundle) : (config.policy.git?.repo ?? '')}  sha256:${custos.bundleHash}`);
  const store = config.audit.store;
  print(`  audit trail        ${store.startsWith('sqlite:') ? `sqlite:${rel(store.slice('sqlite:'.length))}` : 'postgres'}`);
  const signing = config.audit.checkpoints.signingKey === undefined ? 'unsigned (no audit.checkpoints.signingKey)' : 'signed (audit.checkpoints.signingKey)';
  print(`  checkpoints        ${key ? `signed with ${rel(key.file)} (key id ${key.keyId}; ${key.created ? 'created now' : 'kept'}; a dev key)` : signing}`);
  if (options.demo !== false) {
    const workspace = path.join(config.baseDir, 'workspace');
    print('');
    print('Demo: real calls through the gateway, as each user');
    await runDemo(custos.mcpUrl, idp.issuer, workspace, print);
  }
  print('');
  print('Try it yourself:');
  print('  npx custos token --user alice          # a bearer token from the dev provider (or --user bob)');
  print(`  MCP client -> add ${custos.mcpUrl} by URL: it registers and signs you in at the dev provider (type alice or bob)`);
  print(`                 or send header "Authorization: Bearer <token>" (docs/identity.md#connect-by-url-the-mcp-authorization-flow)`);
  print('  npx custos audit verify -c examples/quickstart/custos.yaml  # the hash chain and the signed checkpoints');
  print('  npx custos audit export --format jsonl # one audit record per line');
  print('Press Ctrl+C to stop.');
  return { custos, issuer: idp.issuer, close };
}

/**
 * The checkpoint key this start signs with, created when missing: `checkpointKey`, beside a
 * `sqlite:` store given in the options, or the config's `file:` reference (none: unsigned).
 */
function checkpointKeyOf(doc: ConfigDocument, options: QuickstartOptions): QuickstartKey | undefined {
  const store = options.store;
  const beside =
    store?.startsWith('sqlite:') && store !== 'sqlite::memory:' ? path.join(path.dirname(store.slice('sqlite:'.length)), 'checkpoint-key.pem') : undefined;
  const ref = (doc.raw as { audit?: { checkpoints?: { signingKey?: unknown } } } | null)?.audit?.checkpoints?.signingKey;
  const configured = typeof ref === 'string' && ref.startsWith('file:') ? path.resolve(doc.baseDir, ref.slice('file:'.length)) : undefined;
  const file = options.checkpointKey ?? beside ?? configured;
  return file === undefined ? undefined : ensureCheckpointKey(path.resolve(file));
}

/** The raw config with `audit.checkpoints.signingKey` pointing at `file`. */
function withSigningKey(raw: unknown, file: string): unknown {
  const cfg = (raw ?? {}) as { audit?: { checkpoints?: object } };
  return { ...cfg, audit: { ...cfg.audit, checkpoints: { ...cfg.audit?.checkpoints, signingKey: `file:${file}` } } };
}

async function runDemo(mcpUrl: string, issuer: string, workspace: string, print: (line: string) => void): Promise<void> {
  const steps: Array<{ user: string; file: string }> = [
    { user: 'bob', file: 'phi/patient-0001.md' },
    { user: 'alice', file: 'phi/patient-0001.md' },
    { user: 'alice', file: '.env' },
  ];
  for (const step of steps) {
    const token = await fetchDevToken(issuer, step.user);
    const client = new Client({ name: 'custos-quickstart-demo', version: '0.1.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    try {
      const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(workspace, step.file) } });
      const text = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
      const markers = [...new Set(text.match(/\[redacted:[a-z_]+\]/g) ?? [])];
      const outcome = result.isError ? `denied: ${text.replace(/^Denied by policy: /, '')}` : `allowed, returned with ${markers.join(' ') || 'no redactions'}`;
      print(`  ${step.user.padEnd(5)} reads ${step.file.padEnd(20)} -> ${outcome}`);
    } finally {
      await client.close();
    }
  }
}

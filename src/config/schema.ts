/**
 * The configuration schema. Each section is strict (unknown keys are errors) and
 * defaulted; the whole is validated, resolved and frozen before anything starts.
 * schema/custos.config.schema.json and docs/config.md are generated from it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const SECRET_REF = /^(env|file):.+$/;
const secretRef = z
  .string()
  .regex(SECRET_REF, 'must be a secret reference (env:NAME or file:PATH), never an inline secret')
  .describe('A secret reference: `env:NAME` reads an environment variable, `file:PATH` reads a file (trailing newline trimmed).');

/** An address or CIDR block (IPv4 or IPv6): `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`. */
function isCidr(text: string): boolean {
  const [address = '', bits, extra] = text.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

const authFailuresSchema = z
  .strictObject({
    burst: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(20)
      .describe('Unauthenticated or failed-auth requests a source may make at once before it is answered 429.'),
    perMinute: z.number().int().min(1).max(1_000_000).default(30).describe('Failures a source earns back per minute (the sustained rate).'),
    windowSec: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(60)
      .describe('One aggregate `auth_failure` row per source and window carries the count of failures not written on their own.'),
    maxSources: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe(
        'Most sources tracked at once: limiter buckets are forgotten least recently used first; past it in one window, failures are counted under the source `*`.',
      ),
  })
  .prefault({})
  .describe(
    'Floods cost the flooder: requests without a verified credential are limited and recorded in aggregate per source. A request that authenticates is never limited.',
  );

const algorithm = z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

export const issuerSchema = z
  .strictObject({
    issuer: z.url().describe('The `iss` value tokens must carry, exactly.'),
    audience: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('The `aud` value(s) this Custos accepts (its resource identifier, e.g. https://custos.example.com/mcp).'),
    jwksUri: z.url().optional().describe('The issuer JWKS. Omitted: found by OIDC discovery at `issuer`/.well-known/openid-configuration.'),
    algorithms: z.array(algorithm).min(1).optional().describe('Allowed signing algorithms. Never `none`, never HMAC. Default RS256, ES256, PS256, EdDSA.'),
    clockSkewSec: z.number().int().min(0).max(300).default(60).describe('Tolerated clock skew for exp/nbf/iat, in seconds.'),
    maxTokenAgeSec: z.number().int().positive().optional().describe('Refuse tokens issued (iat) longer ago than this.'),
    requiredClaims: z.array(z.string().min(1)).optional().describe('Claims that must be present besides sub, iss, aud, exp.'),
    claims: z
      .strictObject({
        roles: z.string().optional().describe('Dotted path of the roles claim, e.g. `roles`, `realm_access.roles`, `https://example.com/roles`.'),
        groups: z.string().optional().describe('Dotted path of the groups claim, e.g. `groups`.'),
        tenant: z.string().optional().describe('Dotted path of the tenant claim.'),
        email: z.string().optional().describe('Dotted path of the email claim (default `email`).'),
        clientId: z
          .string()
          .optional()
          .describe('Dotted path of the claim naming the client the token was issued to (default `client_id`, else `azp`; Okta: `cid`).'),
      })
      .optional()
      .describe('Where this issuer puts roles, groups, tenant and email.'),
    interactiveClients: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'Client ids (`client_id`/`azp`) whose user tokens are the interactive tier. Set: tokens of other clients (agents, runners, services) are refused at the front doors and must go through token exchange. Unset: every user token of this issuer is interactive.',
      ),
    backchannelClientId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Custos's client id at this issuer: the `aud` its OIDC back-channel logout tokens must carry. Unset: logout tokens of this issuer are refused.",
      ),
  })
  .describe('A trusted token issuer (an OIDC provider).');

const idleSeconds = (fallback: number, tier: string) =>
  z.number().int().min(0).max(86_400).default(fallback).describe(`Idle seconds before automatic logoff of ${tier} calls (0: never).`);

const sessionsSchema = z
  .strictObject({
    store: z
      .string()
      .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH or a postgres:// URL')
      .optional()
      .describe(
        'Where revocations, session activity and break-glass grants live. Default: beside audit.store (`X.sqlite` → `X.sessions.sqlite`, or the same PostgreSQL).',
      ),
    idleTimeoutSec: z
      .strictObject({
        interactive: idleSeconds(900, 'interactive'),
        subagent: idleSeconds(900, 'subagent'),
        background: idleSeconds(0, 'background'),
        api: idleSeconds(0, 'api'),
      })
      .prefault({})
      .describe('Automatic logoff (164.312(a)(2)(iii)) per tier.'),
  })
  .prefault({})
  .describe('Session tracking: revocation and automatic logoff.');

const delegationSchema = z
  .strictObject({
    tokenTtlSec: z.number().int().min(30).max(3600).default(300).describe('Lifetime of a delegation token Custos mints (never longer than its subject token).'),
    maxDepth: z.number().int().min(1).max(10).default(3).describe('Most actors in a delegation chain (user → agent → sub-agent … counts the agents).'),
    algorithm: z.enum(['ES256', 'RS256', 'EdDSA']).default('ES256').describe("Algorithm of Custos' signing keys."),
    keysDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Directory of Custos' signing keys (one JSON file per kid, mode 0600), relative to the config file; share it between replicas. Unset: a key is generated at each start.",
      ),
    rotateAfterSec: z
      .number()
      .int()
      .min(3600)
      .optional()
      .describe('Rotate the signing key when it is older than this; the old key stays in the JWKS until every token it signed has expired.'),
    apiClients: z
      .array(z.string().min(1))
      .default([])
      .describe('Actor client ids that are API callers: their exchanges of a user token mint the `api` tier instead of `subagent`.'),
    backgroundGrants: z
      .strictObject({
        defaultTtlSec: z.number().int().min(60).default(604_800).describe('Lifetime of a background grant when the user does not ask for one (7 days).'),
        maxTtlSec: z.number().int().min(60).max(31_536_000).default(2_592_000).describe('Longest background grant a user may give (30 days).'),
      })
      .prefault({})
      .describe('Standing grants a user gives a background runner.'),
  })
  .prefault({})
  .describe('RFC 8693 token exchange: Custos-minted delegation, background and API tokens.');

const upstreamName = z
  .string()
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'must be lowercase letters, digits and single dashes (it prefixes tool names as NAME__tool)');

export const upstreamSchema = z
  .strictObject({
    name: upstreamName.describe('The server name; its tools are exposed as `NAME__tool`.'),
    command: z.string().min(1).optional().describe('Executable of a stdio MCP server (`node` means the running Node.js).'),
    args: z.array(z.string()).default([]).describe('Arguments of `command`.'),
    cwd: z.string().optional().describe('Working directory of `command`; relative to the config file. Default: the config file directory.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment for `command`; values may be secret references.'),
    roots: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Directories the server serves (the filesystem server's allowed directories), relative to the config file. File classification resolves a call's relative paths against the first and follows symlinks and `..` on disk, so a link in the workspace to ~/.aws/credentials is classed as the credential it is.",
      ),
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .describe('URL of a Streamable HTTP MCP server (instead of `command`).'),
    headers: z.record(z.string(), secretRef).default({}).describe('Headers sent to a `url` upstream; values are secret references.'),
    isolation: z
      .enum(['shared', 'session'])
      .default('shared')
      .describe(
        "`shared`: one connection serves every agent session. `session`: each agent MCP session gets its own connection (stdio: its own process; HTTP: its own MCP session), opened on first use and closed with the session, so the server's elicitation and sampling requests reach exactly that session's user. The tool list still comes from the shared connection.",
      ),
    maxSessions: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe("With `isolation: session`: most per-session connections at once; past it a new session's call is refused (ERR_GATEWAY_SESSION_LIMIT)."),
    identity: z
      .strictObject({
        mode: z
          .enum(['token-exchange', 'assertion'])
          .describe(
            "`token-exchange`: an RFC 8693-shaped access token (`typ: at+jwt`) Custos issues for this upstream: `sub` the user, `act` Custos (over the agent chain), `aud` below, 5 min, cached per user until 1 min before it expires. `assertion`: a short-lived signed identity assertion (`typ: custos-id+jwt`, 60 s, not cached). Both signed with Custos' keys (JWKS at /.well-known/jwks.json); never the user's original token.",
          ),
        audience: z.string().min(1).optional().describe('The `aud` of the token (default: the upstream `url`).'),
        header: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/)
          .default('authorization')
          .describe('The header that carries it (`authorization` sends `Bearer <token>`; another name sends the bare token).'),
      })
      .optional()
      .describe("`url` upstreams only: carry the user's identity to the tool on every tools/call (docs/identity.md#the-users-identity-at-the-tool)."),
  })
  .refine((u) => (u.command === undefined) !== (u.url === undefined), { message: 'set exactly one of `command` or `url`' })
  .refine((u) => u.identity === undefined || u.url !== undefined, { message: '`identity` needs a `url` upstream', path: ['identity'] })
  .describe('An MCP server behind Custos.');

const sinkCommon = {
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _ (it names the cursor file)')
    .describe('Names the sink (status, cursor file). Renaming a sink starts it from seq 1 again.'),
  format: z
    .enum(['jsonl', 'ocsf'])
    .default('jsonl')
    .describe(
      '`jsonl`: the stored `custos.audit/v1` record, canonical JSON; `ocsf`: an OCSF 1.3 API Activity event (class 6003) as docs/audit-schema.md maps it.',
    ),
  batchSize: z.number().int().min(1).max(10_000).default(100).describe('Most records per delivery.'),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(300_000)
    .default(10_000)
    .describe('How long one delivery may take (connect and answer) before it counts as failed and is retried.'),
};

const sinkSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('file'),
      ...sinkCommon,
      path: z.string().min(1).describe('The JSON Lines file (relative to the config file). Rotated files are PATH.1 (newest) to PATH.maxFiles.'),
      rotateBytes: z
        .number()
        .int()
        .min(1024)
        .default(100 * 1024 * 1024)
        .describe('Rotate before a batch would take the file past this size.'),
      maxFiles: z.number().int().min(1).max(1000).default(10).describe('Rotated files kept; the oldest past it is removed.'),
    })
    .describe('JSON Lines files with rotation.'),
  z
    .strictObject({
      type: z.literal('webhook'),
      ...sinkCommon,
      url: z.url().describe('Where each batch is POSTed (JSON).'),
      secret: secretRef.describe(
        'HMAC-SHA256 key: `X-Custos-Signature: v1=HEX` over `TIMESTAMP.BODY`, `X-Custos-Timestamp` in Unix seconds. A secret reference.',
      ),
    })
    .describe('An HMAC-signed webhook.'),
  z
    .strictObject({
      type: z.literal('splunk_hec'),
      ...sinkCommon,
      url: z.url().describe('The HTTP Event Collector base URL, e.g. https://splunk.example.com:8088 (Custos adds /services/collector/event).'),
      token: secretRef.describe('The HEC token, as a secret reference.'),
      index: z.string().min(1).optional().describe("Splunk index (default: the token's)."),
      sourcetype: z.string().min(1).default('custos:audit'),
      source: z.string().min(1).default('custos'),
    })
    .describe('Splunk HTTP Event Collector.'),
  z
    .strictObject({
      type: z.literal('syslog'),
      ...sinkCommon,
      host: z.string().min(1).describe('The syslog receiver.'),
      port: z.number().int().min(1).max(65535).default(6514),
      tls: z
        .strictObject({
          ca: z
            .string()
            .min(1)
            .optional()
            .describe("PEM file of the CA that signed the receiver's certificate (relative to the config file); default: the system CAs."),
          servername: z.string().min(1).optional().describe('Name the certificate must carry (default: host).'),
        })
        .optional()
        .describe('TLS (RFC 5425). Absent: plain TCP (RFC 6587).'),
      appName: z.string().min(1).max(48).default('custos').describe('RFC 5424 APP-NAME.'),
      facility: z.number().int().min(0).max(23).default(13).describe('RFC 5424 facility (13: log audit).'),
      hostname: z.string().min(1).max(255).optional().describe("RFC 5424 HOSTNAME (default: the machine's name)."),
    })
    .describe('Syslog, RFC 5424 messages with octet-counted framing over TCP or TLS.'),
  z
    .strictObject({
      type: z.literal('otlp'),
      ...sinkCommon,
      url: z.url().describe('The OTLP/HTTP logs endpoint, e.g. http://collector:4318/v1/logs (JSON encoding).'),
      headers: z.record(z.string(), secretRef).default({}).describe('Extra headers (e.g. an API key); values are secret references.'),
      serviceName: z.string().min(1).default('custos').describe('The `service.name` resource attribute.'),
    })
    .describe('OpenTelemetry logs over OTLP/HTTP (JSON).'),
]);

const exportSchema = z
  .strictObject({
    stateDir: z
      .string()
      .min(1)
      .default('./data/export')
      .describe("Where each sink's cursor (the last seq its destination took) is kept; relative to the config file."),
    pollMs: z.number().int().min(10).max(60_000).default(1000).describe('How often a sink that has caught up looks for new rows.'),
    retry: z
      .strictObject({
        minMs: z.number().int().min(10).max(60_000).default(500).describe('Wait after the first failed delivery; doubles with each further failure.'),
        maxMs: z.number().int().min(10).max(3_600_000).default(30_000).describe('Longest wait between retries.'),
      })
      .prefault({})
      .describe('Backoff of a sink whose destination is down. Rows are never dropped: they wait in the trail.'),
    sinks: z
      .array(sinkSchema)
      .default([])
      .describe('Where the trail is sent (SIEM export). At-least-once: each sink resumes from its persisted cursor; a duplicate is recognisable by `seq`.'),
  })
  .prefault({})
  .describe('SIEM export of the audit trail.');

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1').describe('Interface to listen on.'),
        port: z.number().int().min(0).max(65535).default(8787).describe('TCP port (0 picks a free one).'),
        publicUrl: z.url().optional().describe('The URL agents use to reach Custos (default http://HOST:PORT). The MCP resource is PUBLICURL/mcp.'),
        trustedProxies: z
          .array(z.string().refine(isCidr, 'must be an IP address or CIDR block, e.g. 10.0.0.0/8'))
          .default([])
          .describe(
            "Load balancers and proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is believed: behind one, a request's source is the right-most address in that header that is not itself a trusted proxy. Empty: the source is always the socket peer and the header is ignored.",
          ),
        authFailures: authFailuresSchema,
      })
      .prefault({})
      .describe('The HTTP listener.'),
    identity: z
      .strictObject({
        issuers: z.array(issuerSchema).min(1, 'at least one issuer is required: Custos never runs without verified identity'),
        sessions: sessionsSchema,
        delegation: delegationSchema,
        jwks: z
          .strictObject({
            fetchTimeoutMs: z
              .number()
              .int()
              .min(100)
              .max(60_000)
              .default(5000)
              .describe('Timeout of each OIDC discovery or JWKS fetch; past it the token is refused (ERR_IDENTITY_JWKS_UNAVAILABLE).'),
            cooldownMs: z
              .number()
              .int()
              .min(0)
              .max(3_600_000)
              .default(30_000)
              .describe('Least time between JWKS refetches caused by an unknown kid (rate limit).'),
            cacheMaxAgeMs: z
              .number()
              .int()
              .min(1000)
              .max(86_400_000)
              .default(600_000)
              .describe('How long a fetched JWKS is used before it is fetched again (a removed key stops verifying after this).'),
            failureRetryMs: z
              .number()
              .int()
              .min(0)
              .max(300_000)
              .default(5000)
              .describe(
                'Negative cache: after a failed or timed-out discovery or JWKS fetch, new tokens of that issuer are refused at once (ERR_IDENTITY_JWKS_UNAVAILABLE) for this long, then one request retries. 0: every token waits its own fetch.',
              ),
          })
          .prefault({})
          .describe('How issuer keys are fetched and cached.'),
        admin: z
          .strictObject({
            roles: z.array(z.string().min(1)).default(['custos-admin']).describe('Roles that may revoke sessions and list break-glass reviews.'),
          })
          .prefault({})
          .describe('Identity administration.'),
        emergency: z
          .strictObject({
            roles: z.array(z.string().min(1)).default(['break-glass']).describe('Roles that may open a break-glass grant.'),
            reviewerRoles: z
              .array(z.string().min(1))
              .default(['custos-admin'])
              .describe('Roles that may close the post-hoc review of a grant (never the grant holder).'),
            grantTtlSec: z.number().int().min(60).max(86_400).default(3600).describe('How long a break-glass grant lasts, in seconds.'),
          })
          .prefault({})
          .describe('Emergency (break-glass) access, 164.312(a)(2)(ii).'),
      })
      .describe('Who may call: the trusted token issuers.'),
    upstreams: z.array(upstreamSchema).default([]).describe('MCP servers Custos governs.'),
    policy: z
      .strictObject({
        bundle: z.string().min(1).describe('Directory of the policy bundle; relative to the config file.'),
        confirmationTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .max(1_800_000)
          .default(120_000)
          .describe(
            'How long a confirmation prompt (a `confirm` decision asked through MCP elicitation) waits for the user; past it the call is denied (confirmation_timeout).',
          ),
      })
      .describe('The policy bundle in force.'),
    audit: z
      .strictObject({
        store: z
          .string()
          .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH or a postgres:// URL')
          .default('sqlite:./data/audit.sqlite')
          .describe('Where the trail lives: `sqlite:PATH` (relative to the config file) or a `postgres://` URL.'),
        busyTimeoutMs: z
          .number()
          .int()
          .min(1)
          .max(60_000)
          .default(250)
          .describe(
            'How long an audit append waits for a locked or busy store (off the event loop) before it fails and the call is denied with ERR_AUDIT_UNAVAILABLE. The session store uses it too.',
          ),
        checkpoints: z
          .strictObject({
            signingKey: secretRef
              .optional()
              .describe(
                'The Ed25519 private key (PKCS#8 PEM) that signs checkpoints, as a secret reference (`file:keys/checkpoint.pem`). Checkpoints are written only when it is set. Its key id is the first 16 hex of SHA-256 of its public key (SPKI DER); rotate by replacing the key and giving verifiers the old and the new public key.',
              ),
            everyRows: z.number().int().min(1).max(1_000_000).default(1000).describe('A checkpoint after this many rows.'),
            everySec: z.number().int().min(1).max(86_400).default(300).describe('And at most this long after a row when fewer came.'),
          })
          .prefault({})
          .describe(
            'Signed checkpoints: a `checkpoint` row every N rows or T seconds carrying the signed root of the RFC 9162 Merkle tree over the rows before it (docs/audit-schema.md). Off unless `signingKey` is set.',
          ),
      })
      .prefault({})
      .describe('The audit trail.'),
    limits: z
      .strictObject({
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(1024 * 1024)
          .describe('Largest request body, in bytes; past it 413 and one deny row (`arguments_too_complex`, limit `maxBodyBytes`).'),
        maxDepth: z
          .number()
          .int()
          .min(1)
          .max(256)
          .default(64)
          .describe(
            'Deepest nesting of objects and arrays in a body, in arguments and in an upstream result. At most 256, so every row stays within the recompute recipe of docs/audit-schema.md.',
          ),
        maxObjectKeys: z.number().int().min(1).max(100_000).default(10_000).describe('Most keys in one object.'),
        maxArrayItems: z.number().int().min(1).max(1_000_000).default(100_000).describe('Most items in one array.'),
        maxValues: z.number().int().min(1).max(2_000_000).default(250_000).describe('Most values (objects, arrays, scalars) in one body, arguments or result.'),
        maxStringLength: z
          .number()
          .int()
          .min(1)
          .max(64 * 1024 * 1024)
          .default(8 * 1024 * 1024)
          .describe('Longest string (UTF-16 code units), keys included.'),
        maxTotalSize: z
          .number()
          .int()
          .min(1024)
          .max(256 * 1024 * 1024)
          .default(32 * 1024 * 1024)
          .describe('Largest value, as its approximate JSON length in characters (bounds upstream results; bodies are bounded by maxBodyBytes first).'),
      })
      .prefault({})
      .describe(
        'Bounded input at every door, checked before anything is classified or written. Arguments past a limit are denied (`arguments_too_complex`, 400 / JSON-RPC invalid params); an upstream result past one is withheld (`output_too_complex`). Each refusal is one audit row naming the limit.',
      ),
    export: exportSchema,
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({})
      .describe('Process logging (not the audit trail).'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.upstreams.forEach((u, i) => {
      if (seen.has(u.name)) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'name'], message: `duplicate upstream name "${u.name}"` });
      seen.add(u.name);
    });
    const sinks = new Set<string>();
    cfg.export.sinks.forEach((sink, i) => {
      if (sinks.has(sink.name)) ctx.addIssue({ code: 'custom', path: ['export', 'sinks', i, 'name'], message: `duplicate sink name "${sink.name}"` });
      sinks.add(sink.name);
    });
  });

export type CustosConfigInput = z.input<typeof configSchema>;
export type CustosConfig = z.output<typeof configSchema>;
export type IssuerSettings = z.output<typeof issuerSchema>;
export type UpstreamSettings = z.output<typeof upstreamSchema>;
export type SinkConfig = z.output<typeof sinkSchema>;

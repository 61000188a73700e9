/**
 * The configuration schema. Each section is strict (unknown keys are errors) and
 * defaulted; the whole is validated, resolved and frozen before anything starts.
 * schema/custos.config.schema.json and docs/config.md are generated from it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { checkPlainHttp, connectionSchema, llmSchema, serverTlsSchema } from './connection.js';
import { consoleSchema } from './console-schema.js';

const SECRET_REF = /^(env|file):.+$/;
const secretRef = z
  .string()
  .regex(SECRET_REF, 'must be a secret reference (env:NAME or file:PATH), never an inline secret')
  .describe('A secret reference: `env:NAME` reads an environment variable, `file:PATH` reads a file (trailing newline trimmed).');

/** A credential of a sink: a secret reference, or a `secret` key of the registry by id (`key:ID`: rotate by registering a new id and pointing here). */
const credentialRef = z
  .string()
  .regex(/^(env|file|key):.+$/, 'must be a secret reference (env:NAME or file:PATH) or a registry key (key:ID), never an inline secret')
  .describe('A secret reference (`env:NAME`, `file:PATH`) or a `secret` key of the key registry (`key:ID`).');

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
    tokenExchange: z
      .strictObject({
        clientId: z.string().min(1).describe("Custos' confidential client at this IdP, allowed the RFC 8693 token-exchange grant."),
        clientSecret: secretRef.describe('Its secret (client_secret_basic), as a secret reference.'),
        tokenEndpoint: z.url().optional().describe("Default: the issuer's OIDC discovery `token_endpoint`."),
      })
      .optional()
      .describe(
        "For upstreams with `identity.mode: idp-exchange`: how Custos exchanges this issuer's user tokens at the IdP (docs/identity.md#the-users-identity-at-the-tool).",
      ),
    connection: connectionSchema,
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
    connection: connectionSchema,
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
          .enum(['token-exchange', 'idp-exchange', 'assertion'])
          .describe(
            "`token-exchange`: an RFC 8693-shaped access token (`typ: at+jwt`) Custos issues for this upstream: `sub` the user, `act` Custos (over the agent chain), `aud` below, 5 min, cached per user until 1 min before it expires. `idp-exchange`: a real RFC 8693 exchange at the user's own IdP (the user's token as subject, Custos' `identity.issuers[].tokenExchange` client as actor, `audience` below); the IdP's token is sent, cached until 1 min before it expires; a refusal fails the call (ERR_UPSTREAM_IDENTITY_UNAVAILABLE). `assertion`: a short-lived signed identity assertion (`typ: custos-id+jwt`, 60 s, not cached). Both signed with Custos' keys (JWKS at /.well-known/jwks.json); never the user's original token.",
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
  events: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe(
      'Send only rows of these events (e.g. `[checkpoint]`: a webhook that anchors signed checkpoints); the cursor still moves past the others. Absent: every row (`directory` and `s3`: only `checkpoint`).',
    ),
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
      secret: credentialRef.describe(
        'HMAC-SHA256 key: `X-Custos-Signature: v1=HEX` over `TIMESTAMP.BODY`, `X-Custos-Timestamp` in Unix seconds. A secret reference, or `key:ID` (a `secret` key of the registry).',
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
  z
    .strictObject({
      type: z.literal('directory'),
      ...sinkCommon,
      path: z
        .string()
        .min(1)
        .describe(
          'The anchor directory (relative to the config file), ideally on other storage than the trail (another host, a WORM mount). One read-only file per row, `checkpoint-<seq>.json`, created once, never overwritten.',
        ),
    })
    .describe('External anchor: a write-once directory of signed checkpoint rows (`custos audit verify --anchor`).'),
  z
    .strictObject({
      type: z.literal('s3'),
      ...sinkCommon,
      endpoint: z.url().describe('Path-style S3 endpoint: `https://s3.REGION.amazonaws.com`, or an S3-compatible store (MinIO, Ceph, R2).'),
      region: z.string().min(1).default('us-east-1').describe('The SigV4 signing region.'),
      bucket: z.string().min(3).max(63).describe('The bucket; use one with Object Lock (compliance mode) so nobody can delete an anchor.'),
      prefix: z.string().default('').describe('Key prefix, e.g. `custos/prod/`.'),
      accessKeyId: credentialRef.describe('The access key id: a secret reference, or `key:ID` (a `secret` key of the registry).'),
      secretAccessKey: credentialRef.describe('The secret access key: a secret reference, or `key:ID` (a `secret` key of the registry).'),
    })
    .describe('External anchor: signed checkpoint rows as objects in an S3-compatible bucket, never overwritten (`If-None-Match: *`).'),
]);

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const keyId = z.string().regex(KEY_ID, 'must be a key id: letters, digits, `.`, `_`, `-` (at most 64)');

const keySchema = z
  .strictObject({
    id: keyId.describe(
      'The id rows, checkpoints and config refer to the key by. Keep a rotated-out key registered while anything sealed or signed with it is kept.',
    ),
    use: z
      .enum(['encrypt', 'sign', 'hmac', 'secret'])
      .describe(
        "`encrypt`: an AES-256 key-encryption key (at-rest encryption). `sign`: an Ed25519 key (checkpoints). `hmac`: an HMAC-SHA256 key. `secret`: a secret handed to another system as it is (a webhook sink's HMAC secret, S3 credentials: `key:ID` in those fields); `ref` only, never `pkcs11`.",
      ),
    ref: secretRef
      .optional()
      .describe(
        'Where the key material is: `file:PATH` or `env:NAME`. `encrypt`/`hmac`: 32 bytes as base64 or 64 hex digits; `sign`: a PKCS#8 PEM Ed25519 private key.',
      ),
    pkcs11: z
      .strictObject({
        module: z.string().min(1).describe('The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so.'),
        token: z.string().min(1).describe('The token label.'),
        label: z.string().min(1).describe('The key object label (CKA_LABEL); for `sign`, both halves of the key pair carry it.'),
        pin: secretRef.describe('The user PIN, as a secret reference.'),
      })
      .optional()
      .describe('A key held in a PKCS#11 token (HSM): it never leaves the token.'),
  })
  .refine((k) => (k.ref === undefined) !== (k.pkcs11 === undefined), { message: 'give exactly one of ref or pkcs11' })
  .refine((k) => k.use !== 'secret' || k.pkcs11 === undefined, { message: 'a secret key is handed out as it is: give ref, not pkcs11' });

/**
 * `audit.busyTimeoutMs` when unset: replicas on one PostgreSQL queue on one append lock, and under
 * CPU starvation 250 ms denied over a thousand calls of three replicas; one SQLite file has one writer.
 */
export function defaultBusyTimeoutMs(store: string): number {
  return /^postgres(ql)?:\/\//.test(store) ? 2000 : 250;
}

const retentionDays = z.number().int().min(1).max(36_500);

const retentionSchema = z
  .strictObject({
    minimumDays: retentionDays
      .default(2192)
      .describe('No record class may be kept less than this (default six years, HIPAA 164.316(b)(2)(i)); a shorter class is a config error.'),
    defaultDays: retentionDays.default(2192).describe('How long a row is kept when its class is not in `classes`.'),
    classes: z
      .partialRecord(z.enum(['intent', 'result', 'deny', 'confirm', 'auth_failure', 'alert', 'admin']), retentionDays)
      .default({})
      .describe('Days kept per record class (the row `event`). Checkpoint, purge and legal-hold rows are never purged.'),
  })
  .prefault({})
  .refine((r) => r.defaultDays >= r.minimumDays && Object.values(r.classes).every((d) => d === undefined || d >= r.minimumDays), {
    message: 'no retention may be below minimumDays',
  })
  .describe('Retention per record class and the purge (`custos audit purge`); legal holds are rows (`custos audit hold`).');

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

const monitorSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Alert rules, the trail watch, kill switches, drift quarantine, the inventory, metrics and traces. Off: none of them (and no /metrics).'),
    syncMs: z
      .number()
      .int()
      .min(50)
      .max(10_000)
      .default(500)
      .describe("How often each replica reads the trail's new rows (kill switches, tool approvals, acknowledgements written on other replicas)."),
    snapshotEveryRows: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .default(10_000)
      .describe(
        "The monitor's start-up snapshot (its state and the trail row it covers, beside the trail) is saved after this many new rows and at shutdown; 0: at shutdown only. A start reads only the rows after it. Signed with `audit.checkpoints.signingKey` when that is set (a start then takes only a snapshot it signed). Not kept for a trail encrypted at rest.",
      ),
    trailWatch: z
      .strictObject({
        everySec: z
          .number()
          .int()
          .min(0)
          .max(86_400)
          .default(60)
          .describe(
            'Verify the audit rows appended since the last verified row this often (a suffix of the hash chain: cheap); 0: no incremental passes. A row that does not verify raises `chain_verification_failed`.',
          ),
        fullEverySec: z
          .number()
          .int()
          .min(0)
          .max(2_592_000)
          .default(86_400)
          .describe(
            'Verify the whole trail from genesis this often (first a few seconds after start, in the background), against the row verified before, so an edited old row, a cut-off tail or a rebuilt chain is found; 0: only that first pass. `everySec` and `fullEverySec` both 0: no watch. Every replica watches (reads only); replicas that find one failure within `rules.cooldownSec` raise one alert.',
          ),
      })
      .prefault({})
      .describe(
        'The trail watch: the server verifies its own hash chain on a timer and alerts (`chain_verification_failed`, severity high) when it does not verify.',
      ),
    rules: z
      .strictObject({
        windowSec: z.number().int().min(1).max(86_400).default(60).describe('One counting window of the rate rules (deny spikes, redactions, auth failures).'),
        baselineWindows: z
          .number()
          .int()
          .min(1)
          .max(1440)
          .default(10)
          .describe('Windows before the current one that make the rolling baseline of the deny-spike rule.'),
        denySpike: z
          .strictObject({
            minDenies: z.number().int().min(1).default(10).describe('Denials in one window (per user, agent or tool) before a spike can be raised.'),
            factor: z.number().min(1).default(3).describe("And at least this many times the baseline's mean per window."),
          })
          .prefault({})
          .describe('`deny_rate_spike`: denials per user, agent and tool against a rolling baseline.'),
        redactionsPerWindow: z.number().int().min(1).default(50).describe('`redactions_over_threshold`: values redacted for one user in one window.'),
        authFailuresPerWindow: z
          .number()
          .int()
          .min(1)
          .default(100)
          .describe('`auth_failure_flood`: failed or missing credentials (all sources) in one window.'),
        cooldownSec: z
          .number()
          .int()
          .min(0)
          .max(86_400)
          .default(900)
          .describe('The same alert (type and user, agent, tool or upstream) is raised again only after this long.'),
        firstUse: z.boolean().default(true).describe('`tool_first_use` (in the deployment) and `tool_first_use_by_user`.'),
      })
      .prefault({})
      .describe('Thresholds of the alert rules.'),
    drift: z
      .strictObject({
        alertOnly: z
          .array(z.string().min(1))
          .default([])
          .describe(
            'Upstreams whose changed tools are alerted but stay listed and callable; every other upstream quarantines a changed tool until an admin re-approves it.',
          ),
      })
      .prefault({})
      .describe('Tool definition drift (a description or input schema that changed after approval).'),
    alerts: z
      .strictObject({
        sinks: z
          .array(sinkSchema)
          .default([])
          .describe(
            'Where each alert row is pushed at once (an HMAC-signed webhook, Splunk HEC, syslog, OTLP, a file), besides the log and the trail the export sinks read.',
          ),
      })
      .prefault({})
      .describe('Alert delivery.'),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Serve Prometheus metrics at `GET /metrics` (unauthenticated: expose it to the scraper only).'),
      })
      .prefault({})
      .describe('Prometheus metrics.'),
    tracing: z
      .strictObject({
        endpoint: z.url().optional().describe('The OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces. Absent: no traces.'),
        headers: z.record(z.string(), secretRef).default({}).describe('Extra headers (e.g. an API key); values are secret references.'),
        serviceName: z.string().min(1).default('custos').describe('The `service.name` resource attribute.'),
      })
      .prefault({})
      .describe('OpenTelemetry traces: a span per governed call and per pipeline stage.'),
  })
  .prefault({})
  .describe('Someone is watching: anomaly alerts, the inventory, drift quarantine, kill switches, metrics and traces.');

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
        tls: serverTlsSchema.optional(),
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
    llm: llmSchema,
    policy: z
      .strictObject({
        bundle: z
          .string()
          .min(1)
          .optional()
          .describe('Directory of the policy bundle; relative to the config file. Watched while Custos runs (`watch`). Give it or `git`.'),
        git: z
          .strictObject({
            repo: z.string().min(1).describe('A repository the `git` CLI can fetch (a path, relative to the config file, or a URL).'),
            branch: z
              .string()
              .regex(/^[A-Za-z0-9._/-]+$/, 'must be a branch name')
              .default('main')
              .describe('The branch followed.'),
            path: z.string().min(1).default('.').describe("The bundle's directory inside the repository."),
          })
          .optional()
          .describe('Follow a git branch: each new commit is a candidate bundle (fetched every `pollMs`, and at once on a replica NOTIFY).'),
        watch: z.boolean().default(true).describe('Follow the bundle while running: candidates are verified and activated without a restart.'),
        pollMs: z
          .number()
          .int()
          .min(100)
          .max(600_000)
          .default(1000)
          .describe('How often the bundle source is checked besides file-system events and NOTIFY (ms).'),
        stateDir: z
          .string()
          .min(1)
          .default('./data/policy')
          .describe('Where the last good bundle (and the git mirror) is kept, relative to the config file: a restart never starts without policy.'),
        requiredApprovals: z
          .number()
          .int()
          .min(1)
          .max(10)
          .default(1)
          .describe('Approvals a bundle needs from distinct approvers other than its author (the two-person rule), when `approvers` is set.'),
        approvers: z
          .array(
            z.strictObject({
              id: z
                .string()
                .regex(/^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/, 'must be lower-case letters, digits and - _ .')
                .describe('The approver id (`.approvals/ID.sig`, `author:` in bundle.yaml).'),
              publicKey: z
                .string()
                .includes('BEGIN PUBLIC KEY', { message: 'must be an Ed25519 public key in SPKI PEM' })
                .describe('Ed25519 public key, SPKI PEM.'),
            }),
          )
          .default([])
          .describe('Who may author and approve bundles. Empty: approvals are not checked (activation rows say `approvals: unsigned`); set it in production.'),
        allowEmergency: z
          .boolean()
          .default(false)
          .describe('Allow a bundle marked `emergency: true` to activate with its author alone; its decisions are flagged and it enters the review queue.'),
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
      .refine((p) => (p.bundle === undefined) !== (p.git === undefined), {
        path: ['bundle'],
        message: 'set exactly one of `bundle` (a directory) or `git` (a branch to follow)',
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
          .optional()
          .describe(
            'How long an audit append waits for a locked or busy store (off the event loop) before it fails and the call is denied with ERR_AUDIT_UNAVAILABLE. The session store, the rate counters and the pending authorizations use it too (on SQLite they wait for a lock on timers, the event loop free). Default: 2000 on PostgreSQL (several replicas share one append lock), 250 on SQLite.',
          ),
        checkpoints: z
          .strictObject({
            signingKey: z
              .string()
              .regex(/^(env|file|key):.+$/, 'must be a secret reference (env:NAME or file:PATH) or a registry key (key:ID), never an inline secret')
              .optional()
              .describe(
                'The Ed25519 key that signs checkpoints: a `sign` key of the registry (`key:ID`, e.g. one in a PKCS#11 token), or a PKCS#8 PEM as a secret reference (`file:keys/checkpoint.pem`). Checkpoints are written only when it is set. Its checkpoint key id is the first 16 hex of SHA-256 of its public key (SPKI DER); rotate by replacing the key and giving verifiers the old and the new public key.',
              ),
            everyRows: z.number().int().min(1).max(1_000_000).default(1000).describe('A checkpoint after this many rows.'),
            everySec: z.number().int().min(1).max(86_400).default(300).describe('And at most this long after a row when fewer came.'),
          })
          .prefault({})
          .describe(
            'Signed checkpoints: a `checkpoint` row every N rows or T seconds carrying the signed root of the RFC 9162 Merkle tree over the rows before it (docs/audit-schema.md). Off unless `signingKey` is set.',
          ),
        search: z
          .strictObject({
            roles: z
              .array(z.string().min(1))
              .default(['auditor', 'custos-admin'])
              .describe(
                'Roles (from the token, `identity.issuers[].claims.roles`) that may search the trail (`GET /v1/audit`, `custos audit search`) and ask for the accounting of disclosures. Every search, and every refusal, is an `admin` row.',
              ),
            patientPaths: z
              .array(z.string().min(1).includes('{patient}', { message: 'must contain {patient}' }))
              .default([])
              .describe(
                "Where one patient's records live, `{patient}` standing for the patient identifier, e.g. `phi/{patient}.md`: the accounting of disclosures (`GET /v1/audit/disclosures?patient=ID`) lists every allowed call whose arguments name one of these paths (equal, or ending in `/` + it).",
              ),
            indexKey: keyId
              .optional()
              .describe(
                "The id of the `hmac` key (in `keys`) the search index's terms are keyed with (HMAC-SHA256), so that whoever holds the index without the key cannot test guessed values (an email) against it. Required with `audit.encryption`. Absent: unkeyed SHA-256 terms (a trail in the clear holds the values anyway). Changing it rebuilds the index from the trail.",
              ),
          })
          .prefault({})
          .describe('Search of the trail and the HIPAA accounting of disclosures (164.528).'),
        retention: retentionSchema,
        encryption: z
          .strictObject({
            key: keyId.describe(
              'The id of the `encrypt` key (in `keys`) new rows are sealed under. Rotate by registering a new key and naming it here; keep the old one registered.',
            ),
          })
          .optional()
          .describe('Encryption at rest of the trail (AES-256-GCM envelope encryption, docs/audit-schema.md). Off when absent.'),
      })
      .transform((audit) => ({ ...audit, busyTimeoutMs: audit.busyTimeoutMs ?? defaultBusyTimeoutMs(audit.store) }))
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
    monitor: monitorSchema,
    evidence: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Serve `/v1/evidence/*` (the checklist, packs and their files) to auditors and admins.'),
        dir: z
          .string()
          .min(1)
          .default('./data/evidence')
          .describe('Where packs made through the API are written, one directory per pack; relative to the config file.'),
      })
      .prefault({})
      .describe('Evidence packs for auditors (`custos evidence`, `/v1/evidence/*`, docs/api.md#evidence-packs).'),
    console: consoleSchema,
    keys: z.array(keySchema).default([]).describe('The key registry: every key Custos holds, by id (src/keys/README.md).'),
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
    const plain = [
      ...cfg.identity.issuers.flatMap((s, i) => [
        ...checkPlainHttp(s.issuer, ['identity', 'issuers', i, 'issuer'], `identity.issuers[${i}].connection`, s.connection.allowHttp),
        ...checkPlainHttp(s.jwksUri, ['identity', 'issuers', i, 'jwksUri'], `identity.issuers[${i}].connection`, s.connection.allowHttp),
      ]),
      ...cfg.upstreams.flatMap((u, i) => checkPlainHttp(u.url, ['upstreams', i, 'url'], `upstreams[${i}].connection`, u.connection.allowHttp)),
      ...cfg.llm.providers.flatMap((p, i) => checkPlainHttp(p.url, ['llm', 'providers', i, 'url'], `llm.providers[${i}].connection`, p.connection.allowHttp)),
    ];
    for (const issue of plain) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    const providers = new Set<string>();
    cfg.llm.providers.forEach((p, i) => {
      if (providers.has(p.name)) ctx.addIssue({ code: 'custom', path: ['llm', 'providers', i, 'name'], message: `duplicate provider name "${p.name}"` });
      providers.add(p.name);
    });
    cfg.monitor.drift.alertOnly.forEach((name, i) => {
      if (!seen.has(name)) ctx.addIssue({ code: 'custom', path: ['monitor', 'drift', 'alertOnly', i], message: `no upstream is named "${name}"` });
    });
    const keys = new Map(cfg.keys.map((k) => [k.id, k.use]));
    cfg.keys.forEach((k, i) => {
      if (cfg.keys.findIndex((other) => other.id === k.id) !== i)
        ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id "${k.id}"` });
    });
    const encryptionKey = cfg.audit.encryption?.key;
    if (encryptionKey !== undefined && keys.get(encryptionKey) !== 'encrypt')
      ctx.addIssue({ code: 'custom', path: ['audit', 'encryption', 'key'], message: `no encrypt key "${encryptionKey}" in keys` });
    const indexKey = cfg.audit.search.indexKey;
    if (indexKey !== undefined && keys.get(indexKey) !== 'hmac')
      ctx.addIssue({ code: 'custom', path: ['audit', 'search', 'indexKey'], message: `no hmac key "${indexKey}" in keys` });
    if (indexKey === undefined && encryptionKey !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['audit', 'search', 'indexKey'],
        message:
          'required with audit.encryption: register an hmac key in keys (32 bytes) and name it here, or the search index would hold unkeyed hashes of what the encrypted trail hides',
      });
    const signingKey = cfg.audit.checkpoints.signingKey;
    if (signingKey?.startsWith('key:') && keys.get(signingKey.slice(4)) !== 'sign')
      ctx.addIssue({ code: 'custom', path: ['audit', 'checkpoints', 'signingKey'], message: `no sign key "${signingKey.slice(4)}" in keys` });
    const sinks = new Set<string>();
    cfg.export.sinks.forEach((sink, i) => {
      if (sinks.has(sink.name)) ctx.addIssue({ code: 'custom', path: ['export', 'sinks', i, 'name'], message: `duplicate sink name "${sink.name}"` });
      sinks.add(sink.name);
    });
    const ids = new Set<string>();
    cfg.policy.approvers.forEach((a, i) => {
      if (ids.has(a.id)) ctx.addIssue({ code: 'custom', path: ['policy', 'approvers', i, 'id'], message: `duplicate approver id "${a.id}"` });
      ids.add(a.id);
    });
    if (cfg.policy.approvers.length > 0 && cfg.policy.approvers.length < cfg.policy.requiredApprovals + 1)
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'requiredApprovals'],
        message: 'needs at least requiredApprovals + 1 approvers (the author and that many others)',
      });
  });

export type CustosConfigInput = z.input<typeof configSchema>;
export type CustosConfig = z.output<typeof configSchema>;
export type IssuerSettings = z.output<typeof issuerSchema>;
export type UpstreamSettings = z.output<typeof upstreamSchema>;
export type SinkConfig = z.output<typeof sinkSchema>;
export type ConnectionConfig = z.output<typeof connectionSchema>;
export type ModelProviderSettings = z.output<typeof llmSchema>['providers'][number];
export type KeyConfig = z.output<typeof keySchema>;

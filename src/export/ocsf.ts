/**
 * The OCSF mapping of a `custos.audit/v1` record: one API Activity event (class 6003,
 * category 6 Application Activity), as docs/audit-schema.md tables it. Pure: no I/O.
 */
import { isIP } from 'node:net';
import { EGRESS_MARKERS } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';

export const OCSF_VERSION = '1.3.0';
export const CUSTOS_VERSION = '0.1.0';

type Json = Record<string, unknown>;

const ACTIVITY_NAMES: Record<number, string> = { 2: 'Read', 99: 'Other' };
const STATUS_NAMES: Record<number, string> = { 0: 'Unknown', 1: 'Success', 2: 'Failure' };

/** 2 Read for resource and prompt reads; 99 Other for every other action. */
function activityOf(record: AuditRecord): number {
  return record.kind === 'resource' || record.kind === 'prompt' ? 2 : 99;
}

/** Success only for a result without error; Failure for errors, denials and auth failures; Unknown while pending. */
function statusOf(record: AuditRecord): number {
  if (record.event === 'result') return record.output?.error === undefined ? 1 : 2;
  if (record.event === 'deny' || record.event === 'auth_failure') return 2;
  return 0;
}

/** Drops undefined members so the event carries only what applies. */
function compact(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

function nonEmpty(value: Json): Json | undefined {
  const c = compact(value);
  return Object.keys(c).length ? c : undefined;
}

function actorOf(record: AuditRecord): Json {
  const { user, agent } = record;
  return compact({
    // OCSF needs an actor: a row without a verified identity names the anonymous caller.
    user: user.sub === null ? { name: 'anonymous', type_id: 0, type: 'Unknown' } : compact({ uid: user.sub, email_addr: user.email }),
    idp: user.iss === undefined ? undefined : { uid: user.iss },
    session: user.session_id === undefined ? undefined : { uid: user.session_id },
    app_name: agent?.name,
  });
}

/** The caller as far as the row knows it: the agent by name, and the source address of an auth failure. */
function srcEndpointOf(record: AuditRecord): Json {
  const source = record.detail?.['source'];
  return compact({
    name: record.agent?.name ?? (record.user.anonymous ? 'anonymous' : 'custos'),
    ip: typeof source === 'string' && source !== '*' ? source : undefined,
  });
}

const NOT_A_DESTINATION: ReadonlySet<string> = new Set(Object.values(EGRESS_MARKERS));

/**
 * Where the call sent data: `egress.destination` (`scheme://host:port`, or `host:port` for a
 * `hosts` argument) as a Network Endpoint; undefined when the row names none or only a marker
 * (`unparseable`, `too_many_destinations`), which `unmapped.egress` keeps.
 */
function dstEndpointOf(record: AuditRecord): Json | undefined {
  const destination = record.egress?.destination;
  if (destination === undefined || NOT_A_DESTINATION.has(destination)) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(destination)?.[1];
  let url: URL;
  try {
    url = new URL(scheme === undefined ? `tcp://${destination}` : destination);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 literal without its brackets
  if (host === '') return undefined;
  const ip = isIP(host) !== 0;
  // Read from the text: URL drops a scheme's default port, which the row names (`https://host:443`).
  const port = /:(\d{1,5})$/.exec(destination)?.[1];
  return compact({ hostname: ip ? undefined : host, ip: ip ? host : undefined, port: port === undefined ? undefined : Number(port), svc_name: scheme });
}

function apiOf(record: AuditRecord): Json {
  return compact({
    operation: record.tool?.name ?? record.event,
    service: record.tool ? { name: record.tool.server } : undefined,
    request: { uid: record.request_id },
    response: record.output?.error === undefined ? undefined : { error: record.output.error },
  });
}

function unmappedOf(record: AuditRecord): Json {
  const { agent, policy } = record;
  return compact({
    agent: agent
      ? compact({
          tier: agent.tier,
          declared_tier: agent.declared_tier,
          delegation_chain: agent.delegation_chain,
          runtime: agent.runtime,
          version: agent.version,
        })
      : undefined,
    policy: { decision: policy.decision, determining_policies: policy.determining_policies },
    redactions: record.redactions,
    data_classes: record.data_classes,
    tool_classes: record.tool?.classes,
    input_sha256: record.input?.sha256,
    output_sha256: record.output?.sha256,
    chain: { seq: record.seq, prev_hash: record.prev_hash, hash: record.hash },
    detail: record.detail,
    egress: record.egress,
    confirmation: record.confirmation,
    access: record.access,
  });
}

/** One audit record as an OCSF 1.3 API Activity event. */
export function toOcsf(record: AuditRecord): Json {
  const activityId = activityOf(record);
  const statusId = statusOf(record);
  const allowed = record.policy.decision === 'allow';
  return compact({
    class_uid: 6003,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activityId,
    activity_name: ACTIVITY_NAMES[activityId],
    type_uid: 600300 + activityId,
    time: Date.parse(record.time),
    severity_id: 1,
    severity: 'Informational',
    status_id: statusId,
    status: STATUS_NAMES[statusId],
    status_detail: record.policy.reasons.length ? record.policy.reasons.join(',') : undefined,
    action_id: allowed ? 1 : 2,
    action: allowed ? 'Allowed' : 'Denied',
    disposition_id: allowed ? 1 : 2,
    disposition: allowed ? 'Allowed' : 'Blocked',
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: 'Custos', vendor_name: 'Custos', version: CUSTOS_VERSION },
      profiles: ['security_control'],
      original_time: record.time,
      uid: record.hash,
      sequence: record.seq,
      correlation_uid: record.request_id,
      event_code: record.event,
      log_name: record.schema,
      tenant_uid: record.user.tenant,
    }),
    actor: actorOf(record),
    src_endpoint: srcEndpointOf(record),
    dst_endpoint: dstEndpointOf(record),
    api: apiOf(record),
    policy: { uid: record.policy.bundle_hash },
    trace: record.trace_id === undefined ? undefined : { uid: record.trace_id },
    unmapped: nonEmpty(unmappedOf(record)),
  });
}

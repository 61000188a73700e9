/** Types of the export module's public surface: sinks, their settings and their status. */
import type { AuditRecord } from '../kernel/index.js';

/** How a record is written to a sink: the stored canonical JSON, or an OCSF API Activity event. */
export type ExportFormat = 'jsonl' | 'ocsf';

/**
 * A destination for audit records. `deliver` resolves only once the destination has taken
 * every record of the batch (acknowledged, written and flushed); it rejects otherwise and
 * the batch is sent again, whole. So a destination may see a record twice, never miss one.
 */
export interface Sink {
  readonly name: string;
  readonly type: SinkType;
  deliver(batch: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

export type SinkType = 'file' | 'webhook' | 'splunk_hec' | 'syslog' | 'otlp' | 'directory' | 's3';

interface CommonSinkSettings {
  readonly name: string;
  readonly format: ExportFormat;
  /** Most records per delivery. */
  readonly batchSize: number;
  /** Only rows of these events are sent (the cursor still moves past the others); absent: every row. */
  readonly events?: readonly string[];
}

export interface FileSinkSettings extends CommonSinkSettings {
  readonly type: 'file';
  /** The live file (absolute); rotated files are PATH.1 (newest) … PATH.N. */
  readonly path: string;
  readonly rotateBytes: number;
  readonly maxFiles: number;
}

export interface WebhookSinkSettings extends CommonSinkSettings {
  readonly type: 'webhook';
  readonly url: string;
  /** The HMAC-SHA256 key (resolved from its secret reference). */
  readonly secret: string;
  readonly timeoutMs: number;
}

export interface SplunkHecSinkSettings extends CommonSinkSettings {
  readonly type: 'splunk_hec';
  /** The collector base URL, e.g. https://splunk.example.com:8088 (the path /services/collector/event is added). */
  readonly url: string;
  /** The HEC token (resolved). */
  readonly token: string;
  readonly index?: string;
  readonly sourcetype: string;
  readonly source: string;
  readonly timeoutMs: number;
}

export interface SyslogSinkSettings extends CommonSinkSettings {
  readonly type: 'syslog';
  readonly host: string;
  readonly port: number;
  /** TLS (RFC 5425) when present; the CA is PEM text (resolved). */
  readonly tls?: { readonly ca?: string; readonly servername?: string };
  /** RFC 5424 APP-NAME and facility (default 13, log audit). */
  readonly appName: string;
  readonly facility: number;
  readonly hostname: string;
  readonly timeoutMs: number;
}

export interface OtlpSinkSettings extends CommonSinkSettings {
  readonly type: 'otlp';
  /** The logs endpoint, e.g. http://collector:4318/v1/logs. */
  readonly url: string;
  /** Extra headers (resolved secret values), e.g. an API key. */
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly timeoutMs: number;
}

/** A write-once directory anchor: one read-only file per row (checkpoint rows by default). */
export interface DirectorySinkSettings extends CommonSinkSettings {
  readonly type: 'directory';
  /** The directory (absolute). */
  readonly path: string;
}

/** An S3-compatible bucket anchor: one object per row, never overwritten (`If-None-Match: *`). */
export interface S3SinkSettings extends CommonSinkSettings {
  readonly type: 's3';
  /** Path-style endpoint, e.g. https://s3.eu-west-1.amazonaws.com or http://minio:9000. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix, e.g. `custos/prod/` (may be empty). */
  readonly prefix: string;
  readonly accessKeyId: string;
  /** Resolved from its secret reference. */
  readonly secretAccessKey: string;
  readonly timeoutMs: number;
}

export type SinkSettings =
  FileSinkSettings | WebhookSinkSettings | SplunkHecSinkSettings | SyslogSinkSettings | OtlpSinkSettings | DirectorySinkSettings | S3SinkSettings;

/** The persisted position of one sink: the last seq the destination took, and its last error. */
export interface SinkCursor {
  readonly sink: string;
  /** Last delivered seq (0: nothing yet). */
  readonly seq: number;
  /** That record's hash (empty when seq is 0): proves the cursor belongs to this trail. */
  readonly hash: string;
  readonly updated_at: string;
  /** Consecutive failed deliveries since the last success. */
  readonly failures: number;
  /** The last failure: a short reason (never a payload or a secret) and when. */
  readonly last_error?: { readonly reason: string; readonly at: string };
}

/** What a sink's status shows (CLI, readiness). */
export interface SinkStatus {
  readonly name: string;
  readonly type: SinkType;
  readonly state: 'idle' | 'delivering' | 'retrying' | 'stopped';
  readonly cursor: number;
  readonly head: number;
  /** Records written to the trail and not yet delivered (head − cursor). */
  readonly lag: number;
  readonly failures: number;
  /** The last failure since the last delivery: always `ERR_EXPORT_DELIVERY_FAILED`, its short reason, and when. */
  readonly last_error?: { readonly code: 'ERR_EXPORT_DELIVERY_FAILED'; readonly reason: string; readonly at: string };
}

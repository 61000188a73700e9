/** The export module's public surface: SIEM sinks with persisted cursors, and the OCSF mapping. */
export { createExportService, createSink } from './service.js';
export type { ExportService, ExportServiceOptions } from './service.js';
export { createSinkRunner } from './runner.js';
export type { SinkRunner, SinkRunnerOptions, TrailReader } from './runner.js';
export { createFileCursorStore, readCursor } from './cursor.js';
export { readSinkStatus } from './status.js';
export type { CursorStore } from './cursor.js';
export { carries, formatRecord } from './format.js';
export { toOcsf, OCSF_VERSION } from './ocsf.js';
export { signWebhook, verifyWebhookSignature } from './sinks/webhook-sink.js';
export { toSyslogMessage, frameOctetCounted } from './sinks/syslog-sink.js';
export { anchorObjectName, readDirectoryAnchor, readS3Anchor } from './sinks/anchor-sinks.js';
export type { AnchorContents } from './sinks/anchor-sinks.js';
export { signS3Request } from './sinks/s3-client.js';
export type {
  DirectorySinkSettings,
  ExportFormat,
  FileSinkSettings,
  S3SinkSettings,
  OtlpSinkSettings,
  Sink,
  SinkCursor,
  SinkSettings,
  SinkStatus,
  SinkType,
  SplunkHecSinkSettings,
  SyslogSinkSettings,
  WebhookSinkSettings,
} from './types.js';

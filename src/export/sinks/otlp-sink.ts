/**
 * OTLP/HTTP logs, JSON encoding (OTLP 1.x): a batch is one ExportLogsServiceRequest POSTed
 * to the collector's /v1/logs. Each record is one LogRecord whose body is the record (or its
 * OCSF event) as a JSON string, with `custos.seq`, `custos.event` and `custos.request_id`
 * as attributes. A 2xx answer is the acknowledgement (partial success is logged by the collector).
 */
import type { AuditRecord } from '../../kernel/index.js';
import { formatRecord } from '../format.js';
import type { ExportFormat, OtlpSinkSettings, Sink } from '../types.js';
import { postBody } from './http-post.js';

const SEVERITY = { allow: { number: 9, text: 'INFO' }, confirm: { number: 13, text: 'WARN' }, deny: { number: 13, text: 'WARN' } } as const;

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

export function toLogRecord(record: AuditRecord, format: ExportFormat, observed: Date) {
  const severity = SEVERITY[record.policy.decision];
  return {
    timeUnixNano: `${BigInt(Date.parse(record.time)) * 1_000_000n}`,
    observedTimeUnixNano: `${BigInt(observed.getTime()) * 1_000_000n}`,
    severityNumber: severity.number,
    severityText: severity.text,
    body: { stringValue: formatRecord(record, format) },
    attributes: [
      { key: 'custos.seq', value: { intValue: String(record.seq) } },
      str('custos.event', record.event),
      str('custos.request_id', record.request_id),
      str('custos.hash', record.hash),
    ],
    ...(record.trace_id && /^[0-9a-f]{32}$/.test(record.trace_id) ? { traceId: record.trace_id } : {}),
  };
}

export function createOtlpSink(settings: OtlpSinkSettings, now: () => Date = () => new Date()): Sink {
  return {
    name: settings.name,
    type: 'otlp',
    async deliver(batch) {
      const observed = now();
      const body = JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [str('service.name', settings.serviceName)] },
            scopeLogs: [{ scope: { name: 'custos.audit', version: '1' }, logRecords: batch.map((r) => toLogRecord(r, settings.format, observed)) }],
          },
        ],
      });
      await postBody(settings.url, body, { ...settings.headers, 'content-type': 'application/json' }, settings.timeoutMs);
    },
    async close() {},
  };
}

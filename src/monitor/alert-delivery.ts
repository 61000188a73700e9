/**
 * Alert rows out of the trail to the alert sinks (an HMAC-signed webhook, any SIEM sink the
 * export module builds) and the log. The trail holds every alert durably (and the export
 * runners send it to the SIEM at least once); this is the prompt push, tried twice, a
 * failure logged with the sink's name and never a payload.
 */
import type { AuditRecord, Logger } from '../kernel/index.js';
import type { AlertSink } from './types.js';

export interface AlertDelivery {
  deliver(record: AuditRecord): Promise<void>;
}

export function createAlertDelivery(sinks: readonly AlertSink[], logger: Logger): AlertDelivery {
  async function toSink(sink: AlertSink, record: AuditRecord): Promise<void> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await sink.deliver([record]);
        return;
      } catch (err) {
        if (attempt === 2)
          logger.error({ sink: sink.name, seq: record.seq, err: (err as { code?: string }).code ?? 'delivery_failed' }, 'alert not delivered to sink');
      }
    }
  }

  return {
    async deliver(record) {
      logger.warn(
        { alert: record.alert?.type, severity: record.alert?.severity, seq: record.seq, user: record.user.sub, tool: record.tool?.name },
        'custos alert',
      );
      await Promise.all(sinks.map((s) => toSink(s, record)));
    },
  };
}

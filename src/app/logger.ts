import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Process logs go to stderr as JSON lines (the audit trail is separate and never logged). */
export function createLogger(level: string = 'info'): Logger {
  return pino(
    { level, base: { service: 'custos' }, redact: { paths: ['req.headers.authorization', '*.authorization', '*.token'], censor: '[redacted:secret]' } },
    pino.destination(2),
  );
}

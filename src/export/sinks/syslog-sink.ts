/**
 * Syslog over TCP (RFC 6587) or TLS (RFC 5425), RFC 5424 messages with octet-counted
 * framing: `LEN SP <PRI>1 TIMESTAMP HOST APP - EVENT [custos@32473 seq=".." …] JSON`.
 * A delivery resolves once every frame of the batch has been handed to the socket; a
 * refused or broken connection fails it and the next attempt reconnects. Syslog has no
 * application acknowledgement, so a connection that breaks after the write can lose what
 * was still in flight: use the webhook, HEC or OTLP sink where that matters.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AuditRecord } from '../../kernel/index.js';
import { deliveryFailed, formatRecord } from '../format.js';
import type { Sink, SyslogSinkSettings } from '../types.js';

/** The enterprise number RFC 5612 reserves for documentation and examples. */
const SD_ID = 'custos@32473';

const sdEscape = (value: string): string => value.replace(/["\\\]]/g, (c) => `\\${c}`);
const header = (value: string, max: number): string => value.replace(/[^\x21-\x7e]/g, '').slice(0, max) || '-';

/** One RFC 5424 message (without framing). Severity: 6 informational for allow, 4 warning otherwise. */
export function toSyslogMessage(record: AuditRecord, settings: Pick<SyslogSinkSettings, 'facility' | 'hostname' | 'appName' | 'format'>): string {
  const severity = record.policy.decision === 'allow' ? 6 : 4;
  const sd = `[${SD_ID} seq="${record.seq}" request_id="${sdEscape(record.request_id)}" hash="${record.hash}"]`;
  return `<${settings.facility * 8 + severity}>1 ${record.time} ${header(settings.hostname, 255)} ${header(settings.appName, 48)} - ${header(record.event, 32)} ${sd} ${formatRecord(record, settings.format)}`;
}

/** Octet-counting framing (RFC 6587 3.4.1): the message's length in bytes, a space, the message. */
export function frameOctetCounted(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

function connect(settings: SyslogSinkSettings): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = settings.tls
      ? tls.connect({
          host: settings.host,
          port: settings.port,
          servername: settings.tls.servername ?? settings.host,
          ...(settings.tls.ca ? { ca: settings.tls.ca } : {}),
        })
      : net.connect({ host: settings.host, port: settings.port });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), settings.timeoutMs);
    socket.once(settings.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function writeAll(socket: net.Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE']);

function failureOf(err: unknown, usesTls: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  if ((code && NETWORK_CODES.has(code)) || (err as Error).message === 'timeout') return 'unreachable';
  return usesTls ? 'tls_failed' : 'write_failed';
}

export function createSyslogSink(settings: SyslogSinkSettings): Sink {
  let socket: net.Socket | undefined;
  const drop = (): void => {
    socket?.destroy();
    socket = undefined;
  };
  return {
    name: settings.name,
    type: 'syslog',
    async deliver(batch) {
      try {
        if (!socket || socket.destroyed) {
          socket = await connect(settings);
          const current = socket;
          current.on('error', () => current.destroy());
          current.on('close', () => {
            if (socket === current) socket = undefined;
          });
        }
        await writeAll(socket, batch.map((r) => frameOctetCounted(toSyslogMessage(r, settings))).join(''));
      } catch (err) {
        drop();
        throw deliveryFailed(failureOf(err, settings.tls !== undefined), err);
      }
    },
    async close() {
      const s = socket;
      socket = undefined;
      if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
    },
  };
}

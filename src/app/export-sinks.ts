/** From the `export` config section to the export module's sink settings (CA files read, host name filled). */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { ResolvedConfig, SinkConfig } from '../config/index.js';
import type { SinkSettings } from '../export/index.js';
import { CustosError } from '../kernel/index.js';

function readCa(file: string, name: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `export.sinks (${name}): tls.ca ${file} cannot be read`, { cause: err });
  }
}

/** Anchors take only checkpoint rows unless `events` says otherwise. */
const ANCHOR_EVENTS = ['checkpoint'] as const;

export function toSinkSettings(sink: SinkConfig): SinkSettings {
  if (sink.type === 'directory' || sink.type === 's3') return { ...sink, events: sink.events ?? ANCHOR_EVENTS };
  if (sink.type !== 'syslog') return sink;
  const { tls, hostname, ...rest } = sink;
  return {
    ...rest,
    hostname: hostname ?? os.hostname(),
    ...(tls ? { tls: { ...(tls.ca ? { ca: readCa(tls.ca, sink.name) } : {}), ...(tls.servername ? { servername: tls.servername } : {}) } } : {}),
  };
}

export function exportSettings(config: ResolvedConfig) {
  const { stateDir, pollMs, retry, sinks } = config.export;
  return { stateDir, pollMs, retry, sinks: sinks.map(toSinkSettings) };
}

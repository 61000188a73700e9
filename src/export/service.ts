/**
 * The export service: one runner per configured sink, each with its own persisted cursor,
 * started and stopped together. `status()` is what readiness and the CLI show.
 */
import os from 'node:os';
import { createFileCursorStore } from './cursor.js';
import { carries } from './format.js';
import { createSinkRunner } from './runner.js';
import type { SinkRunner, TrailReader } from './runner.js';
import { createDirectorySink, createS3Sink } from './sinks/anchor-sinks.js';
import { createFileSink } from './sinks/file-sink.js';
import { createOtlpSink } from './sinks/otlp-sink.js';
import { createSplunkHecSink } from './sinks/splunk-hec-sink.js';
import { createSyslogSink } from './sinks/syslog-sink.js';
import { createWebhookSink } from './sinks/webhook-sink.js';
import type { Sink, SinkSettings, SinkStatus } from './types.js';

export interface ExportServiceOptions {
  readonly sinks: readonly SinkSettings[];
  /** Where the cursors live (absolute). */
  readonly stateDir: string;
  readonly store: TrailReader;
  readonly pollMs?: number;
  readonly retry?: { readonly minMs: number; readonly maxMs: number };
}

export interface ExportService {
  start(): void;
  stop(): Promise<void>;
  status(): Promise<SinkStatus[]>;
  /** Each runner, by sink name (tests drive them one batch at a time). */
  readonly runners: ReadonlyMap<string, SinkRunner>;
}

/**
 * The sink a setting names, passing only the rows of `settings.events` when set, and only
 * the rows its format carries (`carries`: an OCSF sink skips purged rows).
 */
export function createSink(settings: SinkSettings): Sink {
  const sink = createDestination(settings);
  const events = settings.events;
  const ocsf = settings.format === 'ocsf';
  if (!events && !ocsf) return sink;
  return {
    name: sink.name,
    type: sink.type,
    deliver: async (batch) => {
      const kept = batch.filter((r) => (!events || events.includes(r.event)) && carries(r, settings.format));
      if (kept.length > 0) await sink.deliver(kept);
    },
    close: () => sink.close(),
  };
}

function createDestination(settings: SinkSettings): Sink {
  switch (settings.type) {
    case 'file':
      return createFileSink(settings);
    case 'webhook':
      return createWebhookSink(settings);
    case 'splunk_hec':
      return createSplunkHecSink(settings, os.hostname());
    case 'syslog':
      return createSyslogSink(settings);
    case 'otlp':
      return createOtlpSink(settings);
    case 'directory':
      return createDirectorySink(settings);
    case 's3':
      return createS3Sink(settings);
  }
}

export function createExportService(options: ExportServiceOptions): ExportService {
  const cursors = createFileCursorStore(options.stateDir);
  const runners = new Map<string, SinkRunner>();
  for (const settings of options.sinks) {
    runners.set(
      settings.name,
      createSinkRunner({
        sink: createSink(settings),
        store: options.store,
        cursors,
        batchSize: settings.batchSize,
        ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
        ...(options.retry === undefined ? {} : { retry: options.retry }),
      }),
    );
  }
  return {
    runners,
    start: () => runners.forEach((r) => r.start()),
    async stop() {
      await Promise.all([...runners.values()].map((r) => r.stop()));
    },
    status: () => Promise.all([...runners.values()].map((r) => r.status())),
  };
}

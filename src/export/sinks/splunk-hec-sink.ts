/**
 * Splunk HTTP Event Collector: a batch is one POST to /services/collector/event with
 * `Authorization: Splunk TOKEN`, its body the events' JSON objects one after another. Splunk
 * acknowledges with `{"text":"Success","code":0}`; any other code is a failed delivery.
 */
import { deliveryFailed, recordEvent } from '../format.js';
import type { Sink, SplunkHecSinkSettings } from '../types.js';
import { postBody } from './http-post.js';

export function hecEndpoint(url: string): string {
  return `${url.replace(/\/+$/, '')}/services/collector/event`;
}

export function createSplunkHecSink(settings: SplunkHecSinkSettings, host: string): Sink {
  return {
    name: settings.name,
    type: 'splunk_hec',
    async deliver(batch) {
      const body = batch
        .map((r) =>
          JSON.stringify({
            time: Date.parse(r.time) / 1000,
            host,
            source: settings.source,
            sourcetype: settings.sourcetype,
            ...(settings.index === undefined ? {} : { index: settings.index }),
            fields: { custos_seq: String(r.seq) },
            event: recordEvent(r, settings.format),
          }),
        )
        .join('\n');
      const answer = await postBody(
        hecEndpoint(settings.url),
        body,
        { authorization: `Splunk ${settings.token}`, 'content-type': 'application/json' },
        settings.timeoutMs,
      );
      let code: unknown = 0;
      try {
        code = (JSON.parse(answer) as { code?: unknown }).code ?? 0;
      } catch {
        // a 2xx without a JSON body is taken as accepted
      }
      if (code !== 0) throw deliveryFailed(`hec_code_${String(code)}`);
    },
    async close() {},
  };
}

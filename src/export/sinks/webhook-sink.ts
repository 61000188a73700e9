/**
 * An HMAC-signed webhook: each batch is one JSON POST, signed so the receiver can prove it
 * came from Custos and is fresh. Signature: `X-Custos-Signature: v1=HEX` where HEX is
 * HMAC-SHA256(secret, `${X-Custos-Timestamp}.${body}`) (timestamp in Unix seconds).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { recordEvent } from '../format.js';
import type { Sink, WebhookSinkSettings } from '../types.js';
import { postBody } from './http-post.js';

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers: true when the signature is the secret's over this timestamp and body. */
export function verifyWebhookSignature(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function createWebhookSink(settings: WebhookSinkSettings, now: () => Date = () => new Date()): Sink {
  return {
    name: settings.name,
    type: 'webhook',
    async deliver(batch) {
      const body = JSON.stringify({
        sink: settings.name,
        format: settings.format,
        first_seq: batch[0]?.seq,
        last_seq: batch.at(-1)?.seq,
        records: batch.map((r) => recordEvent(r, settings.format)),
      });
      const timestamp = String(Math.floor(now().getTime() / 1000));
      await postBody(
        settings.url,
        body,
        {
          'content-type': 'application/json',
          'x-custos-timestamp': timestamp,
          'x-custos-signature': signWebhook(settings.secret, timestamp, body),
        },
        settings.timeoutMs,
      );
    },
    async close() {},
  };
}

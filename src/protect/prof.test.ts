import { it } from 'vitest';
import { DETECTORS } from './detectors.js';
import { createTextRedactor } from './redact-text.js';
it('prof', () => {
  const chunk =
    'Patient note: seen today, follow-up in 2 weeks. Contact jane@example.com or (415) 555-0100. ' +
    'Ref 2024-05-01, order 998877, api_key=abc123, card 4111 1111 1111 1111, MRN 00123456.\n';
  const text = chunk.repeat(Math.ceil(100_000 / chunk.length));
  for (const id of ['mrn', 'generic-secret', 'card', 'email', 'shopify-shared-secret', 'ipv4']) {
    const r = createTextRedactor(DETECTORS.filter((d) => d.id === id));
    for (let i = 0; i < 5; i++) r.redact(text);
    const t = performance.now();
    for (let i = 0; i < 20; i++) r.redact(text);
    console.log(id, ((performance.now() - t) / 20).toFixed(2));
  }
  const all = createTextRedactor(DETECTORS);
  for (let i = 0; i < 5; i++) all.redact(text);
  const t = performance.now();
  for (let i = 0; i < 10; i++) all.redact(text);
  console.log('all', ((performance.now() - t) / 10).toFixed(2));
});

// CPU per streamed event of the model door's redaction, the stream redactor (text released by
// line, `dist/gateway/llm/stream-redactor.js`) beside the previous per-event redaction, both
// with the default detectors, interleaved round by round in one process so they share the
// machine's load. Each stream also pays the result row's redaction of the recorded events.
// Run after `npm run build`: node scripts/measure-stream-redaction.mjs [rounds] [streams per round]
import { createProtector } from '../dist/protect/index.js';
import { createStreamRedactor } from '../dist/gateway/llm/stream-redactor.js';

const rounds = Number(process.argv[2] ?? 20);
const perRound = Number(process.argv[3] ?? 20);
const protector = createProtector();
const redact = (data) => protector.redact(data).value;

const words = Array.from({ length: 45 }, (_, i) => `word${i}`).join(' ');
const text = `Patient SSN 123-45-6789, contact jane.doe@example.com.\n${words}\nLine three ${words}`;
const chunk = (delta, finish = null) => ({
  data: { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] },
});
const shapes = {
  'word deltas': text.split(/(?<= )/),
  '3-character deltas': Array.from({ length: Math.ceil(text.length / 3) }, (_, i) => text.slice(i * 3, i * 3 + 3)),
};
const eventsOf = (deltas) => [...deltas.map((d) => chunk({ content: d })), chunk({}, 'stop'), { data: '[DONE]' }];

function perEvent(events) {
  const recorded = [];
  for (const e of events) {
    recorded.push(e);
    redact(e.data);
  }
  redact({ stream: recorded });
}

function byLine(events) {
  const redactor = createStreamRedactor('openai-chat', { redact });
  const recorded = [];
  for (const e of events) for (const p of redactor.push(e)) recorded.push(p.raw);
  for (const p of redactor.end()) recorded.push(p.raw);
  redact({ stream: recorded });
}

const cpu = (fn, events) => {
  const start = process.cpuUsage();
  for (let i = 0; i < perRound; i++) fn(events);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

for (const [name, deltas] of Object.entries(shapes)) {
  const events = eventsOf(deltas);
  for (let i = 0; i < 3; i++) {
    perEvent(events); // warm-up
    byLine(events);
  }
  const old = [];
  const now = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which runs first, so neither always pays for the other's garbage.
    const first = r % 2 === 0 ? [perEvent, old] : [byLine, now];
    const second = r % 2 === 0 ? [byLine, now] : [perEvent, old];
    first[1].push(cpu(first[0], events));
    second[1].push(cpu(second[0], events));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const perEv = (ms) => ((ms / perRound / events.length) * 1000).toFixed(1);
  console.log(
    `${name} (${events.length} events): per event ${perEv(median(old))} µs CPU, by line ${perEv(median(now))} µs CPU, ratio ${(median(now) / median(old)).toFixed(2)} (median of ${rounds} interleaved rounds of ${perRound} streams)`,
  );
}

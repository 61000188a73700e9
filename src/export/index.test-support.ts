/** The export module's test door (never in dist/): local receivers that speak each sink's protocol. */
export {
  reservePort,
  startHecReceiver,
  startOtlpReceiver,
  startSyslogReceiver,
  startWebhookReceiver,
  makeCertificate,
  createFrameParser,
} from './receivers.test-support.js';
export type { Receiver } from './receivers.test-support.js';

/** The export module's test door (never in dist/): local receivers that speak each sink's protocol. */
export {
  reservePort,
  startHecReceiver,
  startOtlpReceiver,
  startRsyslog,
  startSyslogReceiver,
  startWebhookReceiver,
  makeCertificate,
  createFrameParser,
} from './receivers.test-support.js';
export type { Receiver } from './receivers.test-support.js';
export { S3_TEST_ACCOUNT, startTestS3 } from './s3.test-support.js';
export type { TestS3 } from './s3.test-support.js';

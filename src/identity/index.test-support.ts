/** Identity's test door: helpers other modules' tests (and the e2e tests) use. Never in dist/. */
export { createTestKey, signTestToken, startTestIssuer } from './issuer.test-support.js';
export type { TestIssuer, TestKey } from './issuer.test-support.js';

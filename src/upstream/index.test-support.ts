/** The upstream module's test door: helpers other modules' tests may use. */
export { filesystemUpstream } from './fakes.test-support.js';

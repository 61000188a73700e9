export * from './errors.js';
export * from './types.js';
export * from './ports.js';
export * from './pipeline.js';
export * from './digest.js';
export * from './canonical.js';
export * from './identity-ports.js';
export * from './limits.js';

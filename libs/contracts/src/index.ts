export * from './topics';
export * from './primitives';
export * from './key-events';
export * from './identity-events';
export * from './ops-events';
export * from './events';
export * from './api-errors';

export * from './errors';
export * from './time';
export * from './policy';
export * from './key.decider';
export * from './access-key-slots.decider';
export * from './key-policy.decider';
export * from './rate-limit';
export * from './key-usage';

export * from './migrations';
export * from './key-read-model';
export * from './postgres-key-read-model';
export * from './in-memory-key-read-model';
export * from './signing-key-vault';
export * from './token-requests';
export * from './locks';
export * from './checkpoints';

export * from './load-config';
export { ENV_VARIABLES, envSchema, type EnvConfig } from './env-config';
export * from './file-config';

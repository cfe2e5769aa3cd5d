// Types for fetch-protos.mjs (plain JavaScript so that it runs without a build).
export interface EnvoyProtos {
  /** deploy/envoy/proto: pass as proto-loader's `includeDirs` */
  dir: string;
  /** envoy/service/auth/v3/external_auth.proto, relative to `dir` */
  root: string;
  /** every .proto file kept, relative to `dir` */
  files: string[];
}
export const PROTO_DIR: string;
export const ROOTS: string[];
export const EXT_AUTHZ_PROTO: string;
export const INSTALL_HINT: string;
export function importClosure(from: string, roots?: string[]): Promise<string[]>;
export function ensureEnvoyProtos(options?: { log?: (line: string) => void }): Promise<EnvoyProtos>;

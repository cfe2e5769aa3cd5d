// Types for vendor-protos.mjs (plain JavaScript so that it runs without a build).
export const PROTO_DIR: string;
export const ROOTS: string[];
export function importClosure(from: string, roots?: string[]): Promise<string[]>;
export function protoFiles(dir?: string): string[];
export function pinnedVersions(): Promise<Record<string, string>>;
export function vendorEnvoyProtos(options?: { log?: (line: string) => void }): Promise<string[]>;

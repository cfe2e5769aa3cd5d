import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { CheckRequest, CheckResponse } from './ext-authz';

const FETCH_SCRIPT = join('deploy', 'envoy', 'fetch-protos.mjs');

/** The repository root: the nearest folder above this file holding deploy/envoy (source and dist alike). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, FETCH_SCRIPT))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${FETCH_SCRIPT} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

interface FetchProtos {
  ensureEnvoyProtos(options?: { log?: (line: string) => void }): Promise<{ dir: string; root: string }>;
}

let loading: Promise<ServiceDefinition> | undefined;

/**
 * Envoy's `envoy.service.auth.v3.Authorization` service definition, from Envoy's own .proto files
 * (fetched from Maven Central on first use, then cached in deploy/envoy/proto). Loaded once per process.
 */
export function loadExtAuthzService(log?: (line: string) => void): Promise<ServiceDefinition> {
  loading ??= (async () => {
    const script = pathToFileURL(join(projectRoot(), FETCH_SCRIPT)).href;
    const { ensureEnvoyProtos } = (await import(script)) as FetchProtos;
    const { dir, root } = await ensureEnvoyProtos({ log });
    const definition = loadSync(root, {
      includeDirs: [dir],
      keepCase: true,
      longs: String,
      enums: Number,
      defaults: false,
      oneofs: true,
    });
    const loaded = loadPackageDefinition(definition) as unknown as {
      envoy: { service: { auth: { v3: { Authorization: { service: ServiceDefinition } } } } };
    };
    return loaded.envoy.service.auth.v3.Authorization.service;
  })();
  loading.catch(() => (loading = undefined));
  return loading;
}

export type CheckHandler = (request: CheckRequest) => CheckResponse | Promise<CheckResponse>;

export interface ExtAuthzServerOptions {
  host: string;
  /** 0 picks a free port (tests); the contract's default is 50051. */
  port: number;
  handler: CheckHandler;
  log?: (line: string) => void;
  /** Called with anything the handler throws (the call then fails with INTERNAL: Envoy fails closed). */
  onError?: (error: unknown) => void;
}

/** A gRPC server answering `Authorization/Check` with the handler. */
export class ExtAuthzServer {
  private server: Server | undefined;
  private boundPort: number | undefined;

  constructor(private readonly options: ExtAuthzServerOptions) {}

  /** The bound port once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const service = await loadExtAuthzService(this.options.log);
    const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    const { handler, onError } = this.options;
    server.addService(service, {
      Check(call: ServerUnaryCall<CheckRequest, CheckResponse>, callback: sendUnaryData<CheckResponse>): void {
        let result: CheckResponse | Promise<CheckResponse>;
        try {
          result = handler(call.request);
        } catch (error) {
          onError?.(error);
          callback({ code: GrpcStatus.INTERNAL, details: 'internal error' });
          return;
        }
        if (result instanceof Promise) {
          result.then(
            (response) => callback(null, response),
            (error: unknown) => {
              onError?.(error);
              callback({ code: GrpcStatus.INTERNAL, details: 'internal error' });
            },
          );
        } else {
          callback(null, result);
        }
      },
    });
    const address = `${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${this.options.port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    this.server = server;
    return this.boundPort;
  }

  /** Stops accepting calls; in-flight calls get up to `graceMs` to finish. */
  async stop(graceMs = 2000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadPackageDefinition,
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  status as GrpcStatus,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync, type Options as ProtoLoaderOptions } from '@grpc/proto-loader';
import type { CheckRequest, CheckResponse } from './ext-authz';

/** Envoy's vendored .proto files (deploy/envoy/proto/README.md says where they come from). */
const PROTO_DIR = join('deploy', 'envoy', 'proto');
const EXT_AUTHZ_PROTO = 'envoy/service/auth/v3/external_auth.proto';

/** How Envoy's messages are read: field names as in the proto, enums as numbers, no defaults filled in. */
const PROTO_LOADER: ProtoLoaderOptions = {
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: false,
  oneofs: true,
};

/** deploy/envoy/proto in the nearest folder above this file that holds it (source, dist and image alike). */
function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, PROTO_DIR);
    if (existsSync(join(candidate, EXT_AUTHZ_PROTO))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${PROTO_DIR} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let loaded: ServiceDefinition | undefined;

/** Envoy's `envoy.service.auth.v3.Authorization` service definition, for clients (tests, the benchmark). */
export function loadExtAuthzService(): ServiceDefinition {
  if (loaded) return loaded;
  const definition = loadSync(EXT_AUTHZ_PROTO, { includeDirs: [protoDir()], ...PROTO_LOADER });
  const grpcObject = loadPackageDefinition(definition) as unknown as {
    envoy: { service: { auth: { v3: { Authorization: { service: ServiceDefinition } } } } };
  };
  loaded = grpcObject.envoy.service.auth.v3.Authorization.service;
  return loaded;
}

export type CheckHandler = (request: CheckRequest) => CheckResponse | Promise<CheckResponse>;

export interface ExtAuthzDoorOptions {
  host: string;
  /** 0 picks a free port (tests); the contract's default is 50051. */
  port: number;
  handler: CheckHandler;
  /** Called with anything the handler throws (the call then fails with INTERNAL: Envoy fails closed). */
  onError?: (error: unknown) => void;
}

/**
 * The ext_authz gRPC door: a bare grpc-js server serving Envoy's `envoy.service.auth.v3.Authorization/Check`
 * from the vendored protos, the handler called straight from grpc-js's unary callback. It was a Nest
 * microservice (`@nestjs/microservices`' gRPC transport) until issue 18: its Observable plumbing, pipes and
 * exception filter ran on every call for a door with one method and no use for them
 * (docs/performance.md has the figures). It starts and stops with the
 * authorizer's lifecycle.
 */
export class ExtAuthzDoor {
  private server: Server | undefined;
  private boundPort: number | undefined;

  constructor(private readonly options: ExtAuthzDoorOptions) {}

  /** The bound port once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const { host, handler, onError } = this.options;
    const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    const fail = (callback: sendUnaryData<CheckResponse>, error: unknown): void => {
      onError?.(error);
      // Fail closed, with nothing of the error: Envoy denies, and the caller learns nothing internal.
      callback({ code: GrpcStatus.INTERNAL, details: 'internal error' });
    };
    server.addService(loadExtAuthzService(), {
      Check(call: ServerUnaryCall<CheckRequest, CheckResponse>, callback: sendUnaryData<CheckResponse>) {
        let answer: CheckResponse | Promise<CheckResponse>;
        try {
          answer = handler(call.request);
        } catch (error) {
          fail(callback, error);
          return;
        }
        if (answer instanceof Promise) {
          answer.then(
            (response) => callback(null, response),
            (error: unknown) => fail(callback, error),
          );
        } else callback(null, answer);
      },
    });
    const address = `${host.includes(':') ? `[${host}]` : host}:${this.options.port}`;
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
    this.server = server;
    this.boundPort = port;
    return port;
  }

  /** Stops accepting calls; in-flight calls get up to `graceMs` to finish. */
  async stop(graceMs = 2000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.boundPort = undefined;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => resolve());
    }).finally(() => clearTimeout(timer));
  }
}

import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, status as GrpcStatus, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options as ProtoLoaderOptions } from '@grpc/proto-loader';
import {
  type ArgumentsHost,
  Catch,
  Controller,
  type DynamicModule,
  Inject,
  type INestMicroservice,
  Module,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, type GrpcOptions, Transport } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';
import type { CheckRequest, CheckResponse } from './ext-authz';

/** Envoy's vendored .proto files (deploy/envoy/proto/README.md says where they come from). */
const PROTO_DIR = join('deploy', 'envoy', 'proto');
const EXT_AUTHZ_PROTO = 'envoy/service/auth/v3/external_auth.proto';
const EXT_AUTHZ_PACKAGE = 'envoy.service.auth.v3';

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

const CHECK_HANDLER = Symbol('CHECK_HANDLER');

/** `Authorization/Check` on the `@nestjs/microservices` gRPC transport: one method, the handler's answer. */
@Controller()
class ExtAuthzController {
  constructor(@Inject(CHECK_HANDLER) private readonly handler: CheckHandler) {}

  @GrpcMethod('Authorization', 'Check')
  check(request: CheckRequest): CheckResponse | Promise<CheckResponse> {
    return this.handler(request);
  }
}

/** Whatever the handler throws is INTERNAL with a fixed message: Envoy fails closed and nothing leaks. */
@Catch()
class FailClosed implements RpcExceptionFilter<unknown> {
  constructor(private readonly onError?: (error: unknown) => void) {}

  catch(error: unknown, _host: ArgumentsHost): Observable<never> {
    this.onError?.(error);
    return throwError(() => ({ code: GrpcStatus.INTERNAL, details: 'internal error' }));
  }
}

@Module({})
class ExtAuthzGrpcModule {
  static forHandler(handler: CheckHandler): DynamicModule {
    return {
      module: ExtAuthzGrpcModule,
      controllers: [ExtAuthzController],
      providers: [{ provide: CHECK_HANDLER, useValue: handler }],
    };
  }
}

/** A free TCP port on `host`: Nest's gRPC transport binds the configured URL but does not say which port 0 got. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The ext_authz gRPC door: a Nest microservice on the `@nestjs/microservices` gRPC transport, serving Envoy's
 * `envoy.service.auth.v3.Authorization/Check` from the vendored protos. Its own small application (one
 * controller, the handler as its only provider), so the HTTP application's filters, pipes and hooks never run
 * on the hot path, and the door starts and stops with the authorizer's lifecycle.
 */
export class ExtAuthzDoor {
  private app: INestMicroservice | undefined;
  private boundPort: number | undefined;

  constructor(private readonly options: ExtAuthzDoorOptions) {}

  /** The bound port once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const { host, handler, onError } = this.options;
    const port = this.options.port === 0 ? await freePort(host) : this.options.port;
    const grpc: GrpcOptions = {
      transport: Transport.GRPC,
      options: {
        package: EXT_AUTHZ_PACKAGE,
        protoPath: EXT_AUTHZ_PROTO,
        url: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        loader: { includeDirs: [protoDir()], ...PROTO_LOADER },
        maxReceiveMessageLength: 4 * 1024 * 1024,
        gracefulShutdown: true,
      },
    };
    const app = await NestFactory.createMicroservice(ExtAuthzGrpcModule.forHandler(handler), {
      ...grpc,
      logger: false,
    });
    app.useGlobalFilters(new FailClosed(onError));
    try {
      await app.listen();
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
    this.app = app;
    this.boundPort = port;
    return port;
  }

  /** Stops accepting calls; in-flight calls get up to `graceMs` to finish. */
  async stop(graceMs = 2000): Promise<void> {
    const app = this.app;
    if (!app) return;
    this.app = undefined;
    this.boundPort = undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      app.close(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

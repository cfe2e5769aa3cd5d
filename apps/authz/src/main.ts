import 'reflect-metadata';
import { AccessModelModule } from '@tollgate/access-model';
import { AUTHZ_GRPC, AuthzModule, type ExtAuthzGrpcDoor } from '@tollgate/authz';
import { runService } from '@tollgate/platform';

// One authz replica: the in-memory access model (Kafka when KAFKA_BROKERS is set, else the writers' event
// tables) and the three doors: POST /v1/authorize, GET /v1/forward-auth, gRPC ext_authz on GRPC_PORT.
await runService({
  name: 'authz',
  openApiTitle: 'Tollgate authz',
  modules: (ctx) => [AccessModelModule.forRoot(ctx), AuthzModule.forRoot(ctx)],
  banner: (app, ctx) => {
    const port = app.get<ExtAuthzGrpcDoor>(AUTHZ_GRPC).port;
    return [port ? `ext_authz gRPC (Envoy): ${ctx.config.http.host}:${port}` : 'ext_authz gRPC: off (GRPC_PORT=0)'];
  },
});

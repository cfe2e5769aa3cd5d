import 'reflect-metadata';
import { AccessModelModule } from '@tollgate/access-model';
import { AuthzModule } from '@tollgate/authz';
import { runService } from '@tollgate/platform';

// One authz replica: the in-memory access model (Kafka when KAFKA_BROKERS is set, else the writers' event
// tables) and the three doors: POST /v1/authorize, GET /v1/forward-auth, gRPC ext_authz on GRPC_PORT.
await runService({
  name: 'authz',
  openApiTitle: 'Tollgate authz',
  modules: (ctx) => [AccessModelModule.forRoot(ctx), AuthzModule.forRoot(ctx)],
});

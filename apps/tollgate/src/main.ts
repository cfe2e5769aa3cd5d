import 'reflect-metadata';
import { AccessModelModule } from '@tollgate/access-model';
import { AuthzModule } from '@tollgate/authz';
import { IdentityModule } from '@tollgate/identity';
import { KeysModule, keysBanner } from '@tollgate/keys';
import { ConsoleModule, runService } from '@tollgate/platform';

// Embedded mode (`npm start`): every service in one process on one port, one access model shared by all,
// an embedded PostgreSQL unless DATABASE_URL is set, and no Kafka unless KAFKA_BROKERS is set (the
// authorizer then tails the writers' event tables with the same gap-safe rule and freshness bound).
// The web console is at /console (/ redirects there).
await runService({
  name: 'tollgate',
  openApiTitle: 'Tollgate',
  console: true,
  modules: (ctx) => [
    AccessModelModule.forRoot(ctx),
    KeysModule.forRoot(ctx),
    IdentityModule.forRoot(ctx),
    AuthzModule.forRoot(ctx),
    ConsoleModule.forRoot(),
  ],
  banner: (app) => keysBanner(app),
});

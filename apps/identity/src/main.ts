import 'reflect-metadata';
import { AccessModelModule } from '@tollgate/access-model';
import { IdentityModule } from '@tollgate/identity';
import { ConsoleModule, runService } from '@tollgate/platform';

// The identity service alone (deployed mode): users, projects, deployments, the external-access policy and
// the IdP connectors (OIDC sign-in, signed webhooks, SCIM 2.0); writer of tollgate.identity.v1. It also serves
// the web console (/console), whose API calls a gateway routes to each service.
await runService({
  name: 'identity',
  openApiTitle: 'Tollgate identity',
  console: true,
  modules: (ctx) => [AccessModelModule.forRoot(ctx), IdentityModule.forRoot(ctx), ConsoleModule.forRoot()],
});

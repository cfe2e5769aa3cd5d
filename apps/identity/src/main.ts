import 'reflect-metadata';
import { AccessModelModule } from '@tollgate/access-model';
import { IdentityModule } from '@tollgate/identity';
import { runService } from '@tollgate/platform';

// The identity service alone (deployed mode): users, projects, deployments, the external-access policy and
// the IdP connectors (OIDC sign-in, signed webhooks, SCIM 2.0); writer of tollgate.identity.v1.
await runService({
  name: 'identity',
  openApiTitle: 'Tollgate identity',
  modules: (ctx) => [AccessModelModule.forRoot(ctx), IdentityModule.forRoot(ctx)],
});

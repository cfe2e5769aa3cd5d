import 'reflect-metadata';
import { AccessModelModule } from '@tollgate/access-model';
import { KeysModule, keysBanner } from '@tollgate/keys';
import { runService } from '@tollgate/platform';

// Deployed mode: the keys service alone (its own PORT, DATABASE_URL and KAFKA_BROKERS).
await runService({
  name: 'keys',
  openApiTitle: 'Tollgate keys',
  modules: (ctx) => [AccessModelModule.forRoot(ctx), KeysModule.forRoot(ctx)],
  banner: (app) => keysBanner(app),
});

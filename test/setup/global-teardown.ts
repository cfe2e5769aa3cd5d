import { stopAll } from './global-setup';
import { INFRA_KEY, type TestInfrastructure } from './infrastructure';

export default async function globalTeardown(): Promise<void> {
  const infra = (globalThis as Record<string, unknown>)[INFRA_KEY] as TestInfrastructure | undefined;
  if (!infra) return;
  delete (globalThis as Record<string, unknown>)[INFRA_KEY];
  await stopAll(infra);
}

import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { type AccessModelView, accessModelDirectory } from './directory';

/** A model whose users appear when `apply()` is called, as events arriving from identity would add them. */
function model() {
  const users = new Map<string, { userId: string; name: string; deactivated: boolean; groups: Set<string> }>();
  const view = {
    user: (id: string) => users.get(id),
    allUsers: () => users.values(),
    deploymentById: () => undefined,
    deployments: () => [],
    project: () => undefined,
    roleOf: () => undefined,
    collaborators: () => new Map(),
  } as unknown as AccessModelView;
  return {
    view,
    apply: (id: string) => users.set(id, { userId: id, name: id, deactivated: false, groups: new Set() }),
  };
}

describe('the keys service directory on the access model', () => {
  it('asks again once the watermark passed the request: a user created just before is found', async () => {
    const m = model();
    const directory = accessModelDirectory(m.view, {
      maxStalenessMs: 2000,
      waitForWatermark: async () => {
        m.apply('usr_new');
        return true;
      },
    });
    expect(await directory.user('usr_new', Date.now())).toMatchObject({ userId: 'usr_new' });
  });

  it('answers unknown once the model has caught up with the request and still lacks the user', async () => {
    const directory = accessModelDirectory(model().view, { maxStalenessMs: 2000, waitForWatermark: async () => true });
    expect(await directory.user('usr_none', Date.now())).toBeUndefined();
  });

  it('is unavailable (503, Retry-After), not "unknown", when the model cannot catch up within the bound', async () => {
    const directory = accessModelDirectory(model().view, { maxStalenessMs: 2000, waitForWatermark: async () => false });
    const error = await directory.user('usr_new', Date.now()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unavailable', headers: { 'Retry-After': '1' } });
  });
});

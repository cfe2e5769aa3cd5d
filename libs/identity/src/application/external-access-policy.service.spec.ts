import { describe, expect, it } from '@jest/globals';
import { ApiError } from '@tollgate/contracts';
import { inMemoryDirectory } from '../testing/in-memory-directory';

describe('ExternalAccessPolicyService (in-memory stores)', () => {
  it('starts with no limit; admins change it, with If-Match', async () => {
    const d = inMemoryDirectory();
    expect(await d.policy.policy()).toEqual({ version: 0, requireExternalUserLoginAfterHours: -1 });
    const admin = { actor: { userId: 'usr_admin', admin: true }, channel: 'rest' } as const;
    expect(await d.policy.setPolicy(admin, 24, 0)).toEqual({ version: 1, requireExternalUserLoginAfterHours: 24 });
    await expect(d.policy.setPolicy(admin, 48, 0)).rejects.toMatchObject({ code: 'version-conflict' });
    await expect(
      d.policy.setPolicy({ actor: { userId: 'usr_x', admin: false }, channel: 'rest' }, 48),
    ).rejects.toBeInstanceOf(ApiError);
    expect((await d.policy.policy()).requireExternalUserLoginAfterHours).toBe(24);
  });
});

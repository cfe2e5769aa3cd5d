import { hashSecret } from '@tollgate/authn';
import { BOOTSTRAP_ADMIN_KEY_ID } from './bootstrap-admin-key.service';
import { InMemoryKeys } from '../testing/in-memory-keys';

describe('BootstrapAdminKeyService', () => {
  it('creates a management key for usr_admin at the first start and shows it once in the banner', async () => {
    const k = new InMemoryKeys();
    const bootstrap = k.bootstrap();
    const secret = await bootstrap.ensure();
    expect(secret).toMatch(/^tgm_[0-9A-Za-z]{38}$/);
    const [event] = await k.events();
    expect(event).toMatchObject({
      streamId: `key-${BOOTSTRAP_ADMIN_KEY_ID}`,
      data: {
        keyId: BOOTSTRAP_ADMIN_KEY_ID,
        userId: 'usr_admin',
        scope: 'management',
        secretHash: hashSecret(secret!),
      },
      metadata: { actor: 'system', channel: 'bootstrap' },
    });
    const banner = bootstrap.bannerLines();
    expect(banner.join('\n')).toContain(secret);
    expect(bootstrap.bannerLines().join('\n')).not.toContain(secret);
    expect(JSON.stringify(k.logs)).not.toContain(secret);
  });

  it('does nothing at later starts, or on a second replica', async () => {
    const k = new InMemoryKeys();
    await k.bootstrap().ensure();
    const again = k.bootstrap();
    expect(await again.ensure()).toBeUndefined();
    expect(again.bannerLines().join('\n')).toMatch(/created at the first start/);
    expect(await k.events()).toHaveLength(1);
  });

  it('does nothing when TOLLGATE_BOOTSTRAP_ADMIN_KEY is set', async () => {
    const k = new InMemoryKeys();
    const bootstrap = k.bootstrap('x'.repeat(40));
    expect(await bootstrap.ensure()).toBeUndefined();
    expect(await k.events()).toEqual([]);
    expect(bootstrap.bannerLines().join('\n')).not.toContain('x'.repeat(40));
  });

  it('creates it once when two replicas start together', async () => {
    const k = new InMemoryKeys();
    const secrets = await Promise.all([k.bootstrap().ensure(), k.bootstrap().ensure()]);
    expect(secrets.filter(Boolean)).toHaveLength(1);
    expect(await k.events()).toHaveLength(1);
  });
});

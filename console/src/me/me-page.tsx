import { api } from '../api';
import type { Me } from '../types';
import { MyDeployments } from './my-deployments';
import { MyGroups } from './my-groups';
import { MyKeys } from './my-keys';

/** Me: who I am, my keys, my groups and the deployments I may invoke. */
export function MePage({ me, onMeChanged }: { me: Me; onMeChanged: (me: Me) => void }) {
  const refresh = () =>
    void api<Me>('GET', '/v1/me').then(
      (a) => onMeChanged(a.data),
      () => undefined,
    );
  return (
    <>
      <h1>Me</h1>
      <p class="lede">
        Signed in as <strong>{me.name}</strong> ({me.kind} user{me.admin ? ', Tollgate admin' : ''}),{' '}
        <code>{me.id}</code>.
      </p>
      <MyKeys me={me} />
      <MyGroups me={me} onRefresh={refresh} />
      <MyDeployments me={me} />
    </>
  );
}

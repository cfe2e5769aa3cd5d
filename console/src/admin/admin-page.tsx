import { Policies } from './policies';
import { Revocations } from './revocations';
import { Users } from './users';

/** Admin: users and their key counts, the key and external-access policies, and revocations. */
export function AdminPage() {
  return (
    <>
      <h1>Admin</h1>
      <Users />
      <Policies />
      <Revocations />
    </>
  );
}

// The decision library is pure and imports nothing, so it spells its vocabulary itself. This test proves it
// spells it exactly as @tollgate/contracts does (the events and the API): the type checks fail to compile on
// any difference, the runtime checks on any difference in the shared constants.
import { describe, expect, it } from '@jest/globals';
import * as contracts from '@tollgate/contracts';
import * as decision from './index';

/** Compiles only when A and B are the same union. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(proof: Same<A, B>) => proof;

describe('decision and contracts share one vocabulary', () => {
  it('has the same credential kinds, project roles and access-key slots (types)', () => {
    expect(same<decision.CredentialKind, contracts.CredentialKind>(true)).toBe(true);
    expect(same<decision.ProjectRole, contracts.ProjectRole>(true)).toBe(true);
    expect(same<decision.AccessKeySlot, contracts.AccessKeySlot>(true)).toBe(true);
  });

  it('has the same constants (values)', () => {
    expect([...decision.ALL_CREDENTIAL_KINDS].sort()).toEqual([...contracts.ALL_CREDENTIAL_KINDS].sort());
    expect([...decision.INVOKING_ROLES].sort()).toEqual([...contracts.INVOKING_ROLES].sort());
    expect([...contracts.projectRole.options].sort()).toEqual(['admin', 'contributor', 'owner', 'viewer']);
  });
});

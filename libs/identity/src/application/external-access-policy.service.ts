import { EXTERNAL_ACCESS_POLICY_STREAM } from '@tollgate/contracts';
import { policyDecider, type PolicyState } from '../domain/external-access-policy';
import type { Aggregates } from './aggregates';
import type { CommandContext } from './command-context';

/** The external-access policy: how recently an external user must have signed in to be let through. */
export class ExternalAccessPolicyService {
  constructor(private readonly aggregates: Aggregates) {}

  async policy(): Promise<PolicyState> {
    return (await this.aggregates.load(EXTERNAL_ACCESS_POLICY_STREAM, policyDecider)).state;
  }

  async setPolicy(
    context: CommandContext,
    requireExternalUserLoginAfterHours: number,
    ifMatch?: number,
  ): Promise<PolicyState> {
    return this.aggregates.command(
      context,
      EXTERNAL_ACCESS_POLICY_STREAM,
      policyDecider,
      { type: 'SetExternalAccessPolicy', by: context.actor, requireExternalUserLoginAfterHours, ifMatch },
      'version-conflict',
    );
  }
}

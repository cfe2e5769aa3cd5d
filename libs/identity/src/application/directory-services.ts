import type { DirectoryStores } from '../storage/directory-stores';
import { Aggregates } from './aggregates';
import { DeploymentsService } from './deployments.service';
import { ExternalAccessPolicyService } from './external-access-policy.service';
import { ProjectsService } from './projects.service';
import { UsersService } from './users.service';

export interface DirectoryServices {
  users: UsersService;
  projects: ProjectsService;
  deployments: DeploymentsService;
  policy: ExternalAccessPolicyService;
}

/** The directory's services over one set of stores (PostgreSQL in production, in memory in unit tests). */
export function directoryServices(stores: DirectoryStores, now: () => Date = () => new Date()): DirectoryServices {
  const aggregates = new Aggregates(stores.events);
  return {
    users: new UsersService(aggregates, stores, now),
    projects: new ProjectsService(aggregates, stores, now),
    deployments: new DeploymentsService(aggregates, stores),
    policy: new ExternalAccessPolicyService(aggregates),
  };
}

import type { DeploymentState, DomainEvent } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';
import { RouteTable } from '../routing';
import type { DeploymentRecord } from '../types';
import { deploymentRecord, type Evolver } from './records';

/** Deployments by id and the route table (host × path prefix → deployment) the authorizer matches requests in. */
export class DeploymentsArea implements Evolver {
  private readonly byId = new Map<string, DeploymentRecord>();
  private readonly routes = new RouteTable();

  evolve(e: DomainEvent, event: RecordedEvent): void {
    if (e.type === 'DeploymentCreated' || e.type === 'DeploymentUpdated') this.state(e.data, event.streamVersion);
  }

  /** A deployment's full state; the newest stream version wins whatever the arrival order. */
  private state(d: DeploymentState, version: number): void {
    const held = this.byId.get(d.deploymentId);
    if (held && held.version >= version) return;
    const record = deploymentRecord(d, version);
    if (held) this.routes.remove(held);
    this.add(record);
  }

  add(record: DeploymentRecord): void {
    this.byId.set(record.deploymentId, record);
    this.routes.add(record);
  }

  deploymentById(deploymentId: string): DeploymentRecord | undefined {
    return this.byId.get(deploymentId);
  }

  deployments(): IterableIterator<DeploymentRecord> {
    return this.byId.values();
  }

  /** Host case-insensitive without port; longest path prefix at a segment boundary. */
  routeDeployment(host: string, path: string): DeploymentRecord | undefined {
    const id = this.routes.route(host, path);
    return id === undefined ? undefined : this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

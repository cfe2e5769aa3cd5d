import type { Route } from '../domain/routes';
import { ORPHAN_AGE_SECONDS, type Reserved, type ReservationStore, type RouteConflict } from './reservations';

interface Held {
  holder: string;
  /** Epoch ms. */
  at: number;
}

const routeKey = (r: Route): string => `${r.host}\u0000${r.pathPrefix}`;
const subjectKey = (idp: string, subject: string): string => `${idp}\u0000${subject}`;

/** The reservations in memory, for unit tests: the same contract as PostgreSQL (reservations.contract.ts). */
export class InMemoryReservations implements ReservationStore {
  private readonly names = new Map<string, Held>();
  private readonly subjects = new Map<string, Held>();
  private readonly routes = new Map<string, Held & { route: Route }>();

  constructor(private readonly now: () => number = Date.now) {}

  private old(held: Held): boolean {
    return held.at < this.now() - ORPHAN_AGE_SECONDS * 1000;
  }

  private reserve(table: Map<string, Held>, key: string, holder: string): Reserved {
    const held = table.get(key);
    if (!held) {
      table.set(key, { holder, at: this.now() });
      return { ok: true };
    }
    return held.holder === holder ? { ok: true } : { ok: false, heldBy: held.holder, old: this.old(held) };
  }

  private release(table: Map<string, Held>, key: string, holder: string): void {
    if (table.get(key)?.holder === holder) table.delete(key);
  }

  private takeOver(table: Map<string, Held>, key: string, orphanHolder: string, holder: string): boolean {
    const held = table.get(key);
    if (held?.holder !== orphanHolder) return false;
    table.set(key, { ...held, holder, at: this.now() });
    return true;
  }

  async reserveUserName(name: string, userId: string): Promise<Reserved> {
    return this.reserve(this.names, name, userId);
  }

  async releaseUserName(name: string, userId: string): Promise<void> {
    this.release(this.names, name, userId);
  }

  async takeOverUserName(name: string, orphanHolder: string, userId: string): Promise<boolean> {
    return this.takeOver(this.names, name, orphanHolder, userId);
  }

  async findSubject(idp: string, subject: string): Promise<{ userId: string; old: boolean } | undefined> {
    const held = this.subjects.get(subjectKey(idp, subject));
    return held ? { userId: held.holder, old: this.old(held) } : undefined;
  }

  async linkSubject(idp: string, subject: string, userId: string): Promise<Reserved> {
    return this.reserve(this.subjects, subjectKey(idp, subject), userId);
  }

  async unlinkSubject(idp: string, subject: string, userId: string): Promise<void> {
    this.release(this.subjects, subjectKey(idp, subject), userId);
  }

  async takeOverSubject(idp: string, subject: string, orphanHolder: string, userId: string): Promise<boolean> {
    return this.takeOver(this.subjects, subjectKey(idp, subject), orphanHolder, userId);
  }

  async reserveRoutes(
    deploymentId: string,
    routes: readonly Route[],
  ): Promise<{ reserved: Route[] } | { conflicts: RouteConflict[] }> {
    const wanted = new Map(routes.map((r) => [routeKey(r), r]));
    const conflicts: RouteConflict[] = [];
    for (const [key, route] of wanted) {
      const held = this.routes.get(key);
      if (held && held.holder !== deploymentId) conflicts.push({ ...route, heldBy: held.holder, old: this.old(held) });
    }
    if (conflicts.length > 0) return { conflicts };
    const reserved: Route[] = [];
    for (const [key, route] of wanted) {
      if (this.routes.has(key)) continue;
      this.routes.set(key, { holder: deploymentId, at: this.now(), route });
      reserved.push(route);
    }
    return { reserved };
  }

  async releaseRoutes(deploymentId: string, routes: readonly Route[]): Promise<void> {
    for (const route of routes) {
      const key = routeKey(route);
      if (this.routes.get(key)?.holder === deploymentId) this.routes.delete(key);
    }
  }

  async takeOverRoute(route: Route, orphanHolder: string, deploymentId: string): Promise<boolean> {
    const key = routeKey(route);
    const held = this.routes.get(key);
    if (held?.holder !== orphanHolder) return false;
    this.routes.set(key, { ...held, holder: deploymentId, at: this.now() });
    return true;
  }
}

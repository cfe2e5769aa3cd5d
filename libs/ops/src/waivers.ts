import { AccessModel, type EventWaiver } from '@tollgate/access-model';
import { EVENT_WAIVED, waiversStream, type EventWaived } from '@tollgate/contracts';
import { VersionConflictError } from '@tollgate/event-store';
import { CliError, EXIT, notFoundError, usageError } from './cli-errors';
import { findEvent, readWaivers, type FoundEvent, type RecordedWaiver, type WriterStores } from './stores';

/** Operator names become the actor `ops:<name>`: a plain identifier, no spaces. */
const OPERATOR = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;

export interface WaiveRequest {
  eventId: string;
  reason: string | undefined;
  by: string | undefined;
  /** Waive even though this release can apply the event (see `waiveEvent`). */
  force?: boolean;
}

/** Checks the arguments of `events waive` before anything is read (usage errors: exit 2). */
export function checkWaiveRequest(request: WaiveRequest): { eventId: string; reason: string; by: string } {
  if (!/^evt_\S+$/.test(request.eventId)) throw usageError('give the event id (evt_…) of the poison event');
  const reason = request.reason?.trim();
  if (!reason)
    throw usageError('--reason is required: why this event may be applied without effect (after investigation)');
  if (reason.length > 2000) throw usageError('--reason is at most 2000 characters');
  const by = request.by?.trim();
  if (!by) throw usageError('--by is required: the operator who decides (recorded as actor ops:<operator>)');
  if (!OPERATOR.test(by)) throw usageError('--by must be an operator name: letters, digits and . _ @ + - (no spaces)');
  return { eventId: request.eventId, reason, by };
}

export interface WaiveResult {
  /** False when the event was already waived: nothing was appended. */
  appended: boolean;
  target: FoundEvent;
  waiver: RecordedWaiver;
}

/** Whether this release's access model applies the event on its own (then it is not poison for this release). */
export function appliesCleanly(target: FoundEvent): boolean {
  try {
    new AccessModel().apply(target.event);
    return true;
  } catch {
    return false;
  }
}

/**
 * Records an operator's decision that the event is applied without effect: an `EventWaived` on the waivers
 * stream of the store that holds it, actor `ops:<operator>`, channel `ops`, causation the waived event.
 * Idempotent: when a waiver of this event (same stream and version) is already recorded, appends nothing.
 * Refuses an event that does not exist (exit 3), a waiver (never poison), and, without `force`, an event
 * this release applies cleanly: the cure for that is deploying this release, not skipping the event (a
 * waived revocation, for instance, would be undone on every replay).
 */
export async function waiveEvent(stores: WriterStores, request: WaiveRequest): Promise<WaiveResult> {
  const { eventId, reason, by } = checkWaiveRequest(request);
  const target = await findEvent(stores, eventId);
  if (!target) throw notFoundError(`no event ${eventId} in the keys or identity store`);
  const { schema, event } = target;
  if (event.type === EVENT_WAIVED)
    throw new CliError(`${eventId} is itself an EventWaived: a waiver is never poison, there is nothing to waive`);
  const store = stores.stores.get(schema)!;
  const stream = waiversStream(schema);
  for (let attempt = 0; ; attempt++) {
    const existing = (await readWaivers(stores)).find((w) => matches(w.data, event));
    if (existing) return { appended: false, target, waiver: existing };
    if (!request.force && appliesCleanly(target)) {
      throw new CliError(
        `${eventId} (${event.type}) applies cleanly with this release: it is not poison here. Deploy this release to the halted replicas instead of waiving it, or add --force to waive it anyway`,
      );
    }
    const data: EventWaived = {
      eventId: event.id,
      streamId: event.streamId,
      eventVersion: event.streamVersion,
      eventType: event.type,
      reason,
      waivedBy: by,
    };
    const version = (await store.readStream(stream)).version;
    try {
      const result = await store.append(stream, version, [{ type: EVENT_WAIVED, data }], {
        metadata: { actor: `ops:${by}`, channel: 'ops', causationId: event.id },
      });
      return { appended: true, target, waiver: { schema, event: result.events[0]!, data } };
    } catch (err) {
      // Someone else appended to the waivers stream meanwhile: read again (it may be this very waiver).
      if (err instanceof VersionConflictError && attempt < 5) continue;
      throw err;
    }
  }
}

const matches = (w: EventWaived, event: { id: string; streamId: string; streamVersion: number }) =>
  w.eventId === event.id && w.streamId === event.streamId && w.eventVersion === event.streamVersion;

/** The waiver recorded for this event, if any. */
export async function waiverOf(
  stores: WriterStores,
  event: { id: string; streamId: string; streamVersion: number },
): Promise<RecordedWaiver | undefined> {
  return (await readWaivers(stores)).find((w) => matches(w.data, event));
}

/** The model's view of recorded waivers (for folding the stores with `foldUntil`). */
export const toModelWaivers = (waivers: readonly RecordedWaiver[]): EventWaiver[] =>
  waivers.map((w) => ({ ...w.data, waiverEventId: w.event.id }));

/** The command an operator runs once they decided, after investigation, to waive a poison event. */
export const waiveCommand = (eventId: string): string =>
  `tollgate events waive ${eventId} --reason "<why, after investigation>" --by <operator>`;

/** What a replica's `/health/ready` says about its access model (the readiness check `access-model`). */
export interface AccessModelReadiness {
  status?: string;
  phase?: string;
  projection?: string;
  watermarkAgeMs?: number | null;
  maxStalenessMs?: number;
  reason?: string;
  poison?: { position: number; eventId: string; type: string; streamId: string; error: string };
  waiver?: { found: { waiverEventId: string; waivedBy: string } | null; lastCheckAt: string | null; error?: string };
  lastError?: string;
}

export interface ProjectionStatus {
  ready: boolean;
  halted: boolean;
  line: string;
  poison: AccessModelReadiness['poison'] | null;
  command: string | null;
}

const POISON_REASON = /^poison event (\S+) \((.*)\) at position (\d+): ([\s\S]*)$/;

/** Reads the `access-model` entry of a Terminus `/health/ready` body (null when the replica has none). */
export function accessModelReadiness(body: unknown): AccessModelReadiness | null {
  const details = (body as { details?: Record<string, unknown> } | null | undefined)?.details;
  const entry = details?.['access-model'];
  return entry && typeof entry === 'object' ? (entry as AccessModelReadiness) : null;
}

/** One human line about a replica's access model; for a halt: the event, the error and what to run. */
export function explainProjection(detail: AccessModelReadiness): ProjectionStatus {
  let poison = detail.poison ?? null;
  if (!poison && detail.reason) {
    // A replica of an earlier release says it only in `reason`.
    const m = POISON_REASON.exec(detail.reason);
    if (m) poison = { eventId: m[1]!, type: m[2]!, position: Number(m[3]), error: m[4]!, streamId: '?' };
  }
  if (poison) {
    const command = waiveCommand(poison.eventId);
    const where = `${poison.type}, stream ${poison.streamId}, position ${poison.position}`;
    let waiver = '';
    if (detail.waiver?.found)
      waiver = ` A waiver (${detail.waiver.found.waiverEventId} by ${detail.waiver.found.waivedBy}) was found: the projection is restarting past it.`;
    else if (detail.waiver?.error) waiver = ` Waiver lookup: ${detail.waiver.error}.`;
    const line =
      `access-model HALTED on poison event ${poison.eventId} (${where}): ${poison.error.replace(/\s+/g, ' ')}. Every door fails closed (503).` +
      `${waiver} Investigate with \`tollgate events show ${poison.eventId}\`; preferably deploy a release that can apply it; ` +
      `otherwise, once you have decided it may be applied without effect, run: ${command}`;
    return { ready: false, halted: true, line, poison, command };
  }
  const age =
    detail.watermarkAgeMs === null || detail.watermarkAgeMs === undefined
      ? 'no watermark yet'
      : `watermark ${Math.round(detail.watermarkAgeMs)} ms old`;
  const bound = detail.maxStalenessMs === undefined ? '' : `, bound ${detail.maxStalenessMs} ms`;
  if (detail.status === 'up')
    return {
      ready: true,
      halted: false,
      line: `access-model ok: fresh (${age}${bound}, phase ${detail.phase ?? '?'})`,
      poison: null,
      command: null,
    };
  const halted = detail.projection === 'halted';
  const why = detail.reason ?? detail.lastError ?? `phase ${detail.phase ?? '?'}`;
  return {
    ready: false,
    halted,
    line: `access-model ${halted ? 'HALTED' : 'not ready'} (${detail.projection ?? 'not-started'}, ${age}${bound}): ${why}`,
    poison: null,
    command: null,
  };
}

export const exitForStatus = (status: ProjectionStatus): number => (status.ready ? EXIT.ok : EXIT.failed);

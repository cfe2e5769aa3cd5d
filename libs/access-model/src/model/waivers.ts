import type { EventWaived } from '@tollgate/contracts';
import type { RecordedEvent } from '@tollgate/event-store';

/**
 * An operator's recorded decision (`EventWaived`): the event `eventId`, of stream `streamId` at version
 * `eventVersion`, is applied without effect. Nothing else is ever skipped.
 */
export interface EventWaiver {
  readonly eventId: string;
  readonly streamId: string;
  readonly eventVersion: number;
  readonly eventType: string;
  readonly reason: string;
  readonly waivedBy: string;
  /** Id of the `EventWaived` event that recorded the decision. */
  readonly waiverEventId: string;
}

export type WaiverNotice =
  | { kind: 'recorded'; waiver: EventWaiver }
  | {
      kind: 'skipped';
      waiver: EventWaiver;
      event: { id: string; type: string; streamId: string; streamVersion: number };
    }
  | {
      kind: 'mismatch';
      waivers: EventWaiver[];
      event: { id: string; type: string; streamId: string; streamVersion: number };
    }
  | { kind: 'invalid'; waiverEventId: string; error: string };

/** Builds a waiver from an `EventWaived` event's data and id. */
export function eventWaiver(data: EventWaived, waiverEventId: string): EventWaiver {
  return Object.freeze({
    eventId: data.eventId,
    streamId: data.streamId,
    eventVersion: data.eventVersion,
    eventType: data.eventType,
    reason: data.reason,
    waivedBy: data.waivedBy,
    waiverEventId,
  });
}

/** The waivers a model holds, and which events they made it skip. */
export class WaiverBook {
  private readonly byEventId = new Map<string, EventWaiver[]>();
  private count = 0;
  /** Events skipped because of a waiver (each time one is applied). */
  private skippedCount = 0;
  /** Notices already given (`skipped:<id>`, `mismatch:<id>`): one log line per event, not per replay. */
  private readonly noticed = new Set<string>();

  constructor(private readonly notify: (notice: WaiverNotice) => void) {}

  /**
   * Records a waiver. Returns false when this exact waiver was already held. Order-independent: of several
   * identical waivers the smallest `waiverEventId` is kept.
   */
  waive(waiver: EventWaiver): boolean {
    const held = this.byEventId.get(waiver.eventId) ?? [];
    const same = held.findIndex((w) => w.streamId === waiver.streamId && w.eventVersion === waiver.eventVersion);
    if (same >= 0) {
      if (waiver.waiverEventId < held[same]!.waiverEventId) held[same] = Object.freeze({ ...waiver });
      return false;
    }
    this.byEventId.set(waiver.eventId, [...held, Object.freeze({ ...waiver })]);
    this.count++;
    this.notify({ kind: 'recorded', waiver });
    return true;
  }

  /** The waiver that makes the model skip the event with this id, stream and version, if any. */
  waiverFor(eventId: string, streamId: string, streamVersion: number): EventWaiver | undefined {
    return this.byEventId.get(eventId)?.find((w) => w.streamId === streamId && w.eventVersion === streamVersion);
  }

  /** Whether `event` is waived (counted and noticed once); a waiver for its id with another stream or version is noticed and not honoured. */
  skips(event: RecordedEvent): boolean {
    const held = this.byEventId.get(event.id);
    if (!held) return false;
    const facts = { id: event.id, type: event.type, streamId: event.streamId, streamVersion: event.streamVersion };
    const waiver = held.find((w) => w.streamId === event.streamId && w.eventVersion === event.streamVersion);
    if (!waiver) {
      if (!this.noticed.has(`mismatch:${event.id}`)) {
        this.noticed.add(`mismatch:${event.id}`);
        this.notify({ kind: 'mismatch', waivers: [...held], event: facts });
      }
      return false;
    }
    this.skippedCount++;
    if (!this.noticed.has(`skipped:${event.id}`)) {
      this.noticed.add(`skipped:${event.id}`);
      this.notify({ kind: 'skipped', waiver, event: facts });
    }
    return true;
  }

  /** Every waiver recorded. Off the hot path. */
  all(): EventWaiver[] {
    return [...this.byEventId.values()].flat();
  }

  get size(): number {
    return this.count;
  }

  get skipped(): number {
    return this.skippedCount;
  }

  /** Loads a snapshot's waivers (no notices: they were given when recorded). */
  load(waivers: readonly EventWaiver[]): void {
    for (const waiver of waivers) {
      const held = this.byEventId.get(waiver.eventId) ?? [];
      this.byEventId.set(waiver.eventId, [...held, waiver]);
      this.count++;
    }
  }
}

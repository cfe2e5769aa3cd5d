import { EVENT_WAIVED, type EventWaived } from '@tollgate/contracts';
import { decodeMessage, eventToMessage, type RecordedEvent } from '@tollgate/event-store';
import type { KafkaMessage } from 'kafkajs';
import { AccessModel } from './access-model';
import type { WaiverNotice } from './model/waivers';
import { ev, iso, recorded, sha, T0, throughStorage } from './testing';

// A poison event: a KeyCreated the model cannot apply (no kind, no hash).
const poison = recorded('key-key_bad', 1, 'KeyCreated', { keyId: 'key_bad', createdAt: iso(T0) }, 'evt_poison');
const unknownType = recorded('key-key_odd', 1, 'KeyTeleported', { keyId: 'key_odd' }, 'evt_unknown');
const later = ev.userKeyCreated('key_later', 'usr_1', 'later-secret');

let waiverCounter = 0;
function waiverOf(
  target: { id: string; streamId: string; streamVersion: number; type: string },
  over: Partial<EventWaived> = {},
  id?: string,
): RecordedEvent {
  waiverCounter += 1;
  const data: EventWaived = {
    eventId: target.id,
    streamId: target.streamId,
    eventVersion: target.streamVersion,
    eventType: target.type,
    reason: 'KeyCreated without kind from the 1.4.0 migration bug; the key was never handed out',
    waivedBy: 'alice',
    ...over,
  };
  return {
    ...recorded('waivers', waiverCounter, EVENT_WAIVED, data, id ?? `evt_waiver_${waiverCounter}`),
    metadata: { actor: 'ops:alice', channel: 'ops' },
  };
}

function modelWithNotices(): { model: AccessModel; notices: WaiverNotice[] } {
  const notices: WaiverNotice[] = [];
  return { model: new AccessModel({ now: () => T0, onWaiverNotice: (n) => void notices.push(n) }), notices };
}

describe('AccessModel waivers (EventWaived)', () => {
  it('a poison event still throws without a waiver, and with a waiver of another event', () => {
    const { model } = modelWithNotices();
    expect(() => model.apply(poison)).toThrow();
    model.apply(waiverOf(unknownType));
    expect(() => model.apply(poison)).toThrow();
    expect(model.counts()).toMatchObject({ waivers: 1, waivedEvents: 0 });
  });

  it('skips a waived event when id, stream and version match, whatever made it poison', () => {
    for (const target of [poison, unknownType]) {
      const { model } = modelWithNotices();
      model.apply(waiverOf(target));
      expect(() => model.apply(target)).not.toThrow();
      expect(model.counts()).toMatchObject({ keys: 0, waivers: 1, waivedEvents: 1, appliedEvents: 2 });
    }
  });

  it('does not skip when only the id matches: another stream or another version', () => {
    const cases: [string, Partial<EventWaived>][] = [
      ['other stream', { streamId: 'key-key_other' }],
      ['other version', { eventVersion: 2 }],
    ];
    for (const [what, over] of cases) {
      const { model, notices } = modelWithNotices();
      model.apply(waiverOf(poison, over));
      expect(() => model.apply(poison)).toThrow();
      expect({ what, counts: model.counts().waivedEvents }).toEqual({ what, counts: 0 });
      expect(notices.map((n) => n.kind)).toEqual(['recorded', 'mismatch']);
    }
  });

  it('does not skip another event of the same stream and version (the id must match)', () => {
    const { model } = modelWithNotices();
    model.apply(waiverOf(poison));
    const sameSlotOtherId = { ...poison, id: 'evt_other' };
    expect(() => model.apply(sameSlotOtherId)).toThrow();
  });

  it('a waiver that names a valid event with another version does not stop it from applying', () => {
    const { model } = modelWithNotices();
    model.apply(waiverOf(later, { eventVersion: 7 }));
    model.apply(later);
    expect(model.keyById('key_later')).toBeDefined();
  });

  it('gives the same state whether the waiver arrives before or after the poison event', () => {
    const waiver = waiverOf(poison);
    const before = modelWithNotices().model;
    for (const e of [waiver, poison, later]) before.apply(e);

    // After: the poison halts the runner (apply throws); the waiver is recorded; the re-delivered event is skipped.
    const after = modelWithNotices().model;
    expect(() => after.apply(poison)).toThrow();
    after.apply(waiver);
    after.apply(poison);
    after.apply(later);

    for (const m of [before, after]) {
      expect(m.keyById('key_bad')).toBeUndefined();
      expect(m.keyByHash(sha('later-secret'))?.keyId).toBe('key_later');
      expect(m.counts()).toMatchObject({ keys: 1, waivers: 1, waivedEvents: 1 });
      expect(m.waiverFor('evt_poison', 'key-key_bad', 1)).toMatchObject({
        waivedBy: 'alice',
        waiverEventId: waiver.id,
      });
    }
  });

  it("a waived event has no effect even if the model could apply it (the decision is the operator's)", () => {
    const { model } = modelWithNotices();
    model.apply(waiverOf(later));
    model.apply(later);
    expect(model.keyById('key_later')).toBeUndefined();
    expect(model.counts().waivedEvents).toBe(1);
  });

  it('an EventWaived is never itself poison: invalid data is reported and waives nothing', () => {
    const { model, notices } = modelWithNotices();
    const bad = recorded('waivers', 1, EVENT_WAIVED, { eventId: poison.id }, 'evt_bad_waiver');
    expect(() => model.apply(bad)).not.toThrow();
    expect(notices).toEqual([expect.objectContaining({ kind: 'invalid', waiverEventId: 'evt_bad_waiver' })]);
    expect(() => model.apply(poison)).toThrow();
    expect(model.counts()).toMatchObject({ waivers: 0, appliedEvents: 1 });
  });

  it('reports each skipped event once; a repeated waiver changes nothing', () => {
    const { model, notices } = modelWithNotices();
    const first = waiverOf(poison, {}, 'evt_waiver_b');
    model.apply(first);
    model.apply(waiverOf(poison, { reason: 'again', waivedBy: 'bob' }, 'evt_waiver_a'));
    model.apply(poison);
    model.apply(poison);
    expect(notices.map((n) => n.kind)).toEqual(['recorded', 'skipped']);
    expect(model.counts()).toMatchObject({ waivers: 1, waivedEvents: 2 });
    // Of identical waivers the smallest id is kept, whatever the order they arrived in.
    expect(model.waivers().map((w) => w.waiverEventId)).toEqual(['evt_waiver_a']);
  });

  it("waive() (the runtime's out-of-band path) records the same waiver as applying the event", () => {
    const { model } = modelWithNotices();
    const waiver = waiverOf(poison);
    const data = waiver.data as EventWaived;
    expect(model.waive({ ...data, waiverEventId: waiver.id })).toBe(true);
    expect(model.waive({ ...data, waiverEventId: waiver.id })).toBe(false);
    model.apply(waiver); // arrives later through the log: a duplicate of what is held
    expect(() => model.apply(poison)).not.toThrow();
    expect(model.counts()).toMatchObject({ waivers: 1, waivedEvents: 1 });
  });

  it('keeps its waivers in snapshots, and loads a snapshot written before waivers existed', () => {
    const { model } = modelWithNotices();
    model.apply(later);
    model.apply(waiverOf(poison));
    const snap = model.snapshot();
    expect(snap.waivers).toHaveLength(1);
    const restored = AccessModel.restore(throughStorage(snap));
    expect(() => restored.apply(poison)).not.toThrow();
    expect(restored.waivers()).toEqual(model.waivers());

    const { waivers: _dropped, ...older } = snap;
    const fromOlder = AccessModel.restore(older);
    expect(fromOlder.counts()).toMatchObject({ keys: 1, waivers: 0 });
    expect(() => fromOlder.apply(poison)).toThrow();
    expect(() => AccessModel.restore({ ...snap, waivers: [['evt_x', 'key-x', 'one']] })).toThrow(/waiver/);
  });

  it('survives the Kafka envelope: `streamVersion` is reserved in data, the waived version is `eventVersion`', () => {
    const waiver = waiverOf(poison);
    const message = eventToMessage({ ...waiver, streamVersion: 9 });
    const decoded = decodeMessage({
      key: Buffer.from(String(message.key)),
      value: Buffer.from(String(message.value)),
      headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])),
      offset: '0',
      timestamp: '0',
      attributes: 0,
    } as KafkaMessage);
    expect(decoded.kind).toBe('event');
    if (decoded.kind !== 'event') return;
    const { model } = modelWithNotices();
    model.apply(decoded.event);
    expect(model.waiverFor('evt_poison', 'key-key_bad', 1)).toBeDefined();
    expect(() => model.apply(poison)).not.toThrow();
  });
});

import { describe, expect, it } from '@jest/globals';
import { withEventReceipt } from '../test/receipts';
import { EventReceipt, eventReceiptsOpen, openEventReceipt, reportCommitted } from './committed-events';

const committed = (...ids: string[]) => reportCommitted({ events: ids.map((id) => ({ id })) as never });
/** Crosses an asynchronous resource (an Immediate), as awaiting a store does; no time passes on purpose. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('event receipts', () => {
  it('record what awaited work commits, in order, and close when the work settles', async () => {
    const receipt = new EventReceipt();
    await withEventReceipt(receipt, async () => {
      committed('evt_1');
      await nextTurn();
      committed('evt_2', 'evt_1');
    });
    expect(receipt.eventIds).toEqual(['evt_1', 'evt_2']);
    expect(eventReceiptsOpen()).toBe(false);
    committed('evt_3'); // outside any receipt: recorded nowhere
    expect(receipt.eventIds).toEqual(['evt_1', 'evt_2']);
  });

  it('close when the work fails, synchronously or not', async () => {
    await expect(withEventReceipt(new EventReceipt(), () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(eventReceiptsOpen()).toBe(false);
    expect(() =>
      openEventReceipt(new EventReceipt(), () => {
        throw new Error('sync');
      }),
    ).toThrow('sync');
    expect(eventReceiptsOpen()).toBe(false);
  });

  it('stay apart when they overlap, and stay on until the last one closes (a second close counts nothing)', async () => {
    const [a, b] = [new EventReceipt(), new EventReceipt()];
    let continueA!: () => void;
    let continueB!: () => void;
    const aDone = new Promise<void>((resolve) => {
      continueA = resolve;
    });
    const bDone = new Promise<void>((resolve) => {
      continueB = resolve;
    });
    const closeA = openEventReceipt(a, () => void aDone.then(() => committed('evt_a')));
    const closeB = openEventReceipt(b, () => void bDone.then(() => committed('evt_b')));
    continueA();
    await aDone;
    await nextTurn();
    closeA();
    closeA();
    expect(eventReceiptsOpen()).toBe(true);
    continueB();
    await bDone;
    await nextTurn();
    expect(a.eventIds).toEqual(['evt_a']);
    expect(b.eventIds).toEqual(['evt_b']);
    closeB();
    expect(eventReceiptsOpen()).toBe(false);
  });

  it('once closed, the async hooks are off: work still running reports to no receipt', async () => {
    const receipt = new EventReceipt();
    let resume!: () => void;
    const later = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const close = openEventReceipt(receipt, () => void later.then(() => committed('evt_late')));
    close();
    resume();
    await later;
    await nextTurn();
    expect(receipt.eventIds).toEqual([]);
    expect(eventReceiptsOpen()).toBe(false);
  });
});

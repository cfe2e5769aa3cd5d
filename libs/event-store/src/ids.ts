import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID (time-sortable, 26 chars Crockford base32). */
export function ulid(now = Date.now()): string {
  let out = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  for (let i = 0; i < 16; i++) out += CROCKFORD[bytes[i]! % 32];
  return out;
}

/** Event id `evt_<ulid>`. */
export function newEventId(): string {
  return `evt_${ulid()}`;
}

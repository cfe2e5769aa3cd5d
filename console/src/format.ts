/** Dates and durations in words, in the reader's locale, with the exact UTC time one hover away. */

const DAY_MS = 86_400_000;
/** A key expiring within this many days is highlighted. */
export const EXPIRING_SOON_DAYS = 7;

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const ms = now - new Date(iso).getTime();
  const future = ms < 0;
  const abs = Math.abs(ms);
  const text =
    abs < 60_000
      ? 'less than a minute'
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < DAY_MS
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / DAY_MS)} days`;
  return future ? `in ${text}` : `${text} ago`;
}

export function expiresSoon(expiresAt: string | null, now = Date.now()): boolean {
  if (!expiresAt) return false;
  const left = new Date(expiresAt).getTime() - now;
  return left > 0 && left <= EXPIRING_SOON_DAYS * DAY_MS;
}

export const daysFromNow = (days: number, now = Date.now()): string => new Date(now + days * DAY_MS).toISOString();

/** Comma- or newline-separated text as a trimmed list without empties. */
export const listOf = (text: string): string[] =>
  text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter(Boolean);

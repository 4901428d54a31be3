/**
 * When a daily bar's trading session ends, as an instant. A bar's `date` is the exchange-local trading date;
 * clients that turn a bare date (or UTC midnight) into local time show the previous day west of UTC, so the
 * API also gives the session's close as a UTC timestamp. The bundled and Yahoo symbols trade in New York:
 * the regular close is 16:00 America/New_York, 20:00Z under daylight saving time and 21:00Z otherwise (early
 * closes on half days are not distinguished: the instant stays inside the same trading date everywhere).
 */
export const EXCHANGE_TIME_ZONE = 'America/New_York';
const CLOSE_HOUR = 16;

const offsetFormatter = new Intl.DateTimeFormat('en-US', {
  timeZone: EXCHANGE_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
});

/** Milliseconds the exchange's wall clock is ahead of UTC at `instant` (negative in New York). */
function exchangeOffsetMs(instant: number): number {
  const parts = Object.fromEntries(offsetFormatter.formatToParts(new Date(instant)).map((part) => [part.type, Number(part.value)]));
  const wall = Date.UTC(parts['year'] ?? 0, (parts['month'] ?? 1) - 1, parts['day'] ?? 1, parts['hour'] ?? 0, parts['minute'] ?? 0);
  return wall - Math.floor(instant / 60_000) * 60_000;
}

/** `2025-10-08` → `2025-10-08T20:00:00.000Z` (16:00 New York time). The offset is taken at the close itself:
 * daylight-saving changes happen at 02:00, never between a close and the guess 4–5 hours away. */
export function sessionCloseUtc(date: string): string {
  let close = closes.get(date);
  if (close === undefined) {
    const wallClose = Date.parse(`${date}T${String(CLOSE_HOUR).padStart(2, '0')}:00:00Z`);
    close = new Date(wallClose - exchangeOffsetMs(wallClose)).toISOString();
    closes.set(date, close);
  }
  return close;
}

/** Memo: a 5000-bar history would otherwise format 5000 dates per request; bounded by the trading dates stored. */
const closes = new Map<string, string>();

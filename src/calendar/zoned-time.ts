/** Wall-clock date and minute of the day of an instant in an IANA time zone. */
export interface ZonedTime {
  /** ISO `YYYY-MM-DD` in that zone. */
  readonly date: string;
  /** Minutes since local midnight. */
  readonly minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

export function zonedTime(instant: Date, timeZone: string): ZonedTime {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

const DAY_MINUTES = 24 * 60;

function dayNumber(isoDate: string): number {
  return Date.parse(`${isoDate}T00:00:00Z`) / 86_400_000;
}

/** The instant at which the wall clock in `timeZone` shows `minutes` past midnight of `date` (DST gaps move it forward). */
export function zonedInstant(date: string, minutes: number, timeZone: string): Date {
  const target = dayNumber(date) * DAY_MINUTES + minutes;
  let guess = target * 60_000;
  for (let i = 0; i < 3; i += 1) {
    const local = zonedTime(new Date(guess), timeZone);
    const shown = dayNumber(local.date) * DAY_MINUTES + local.minutes;
    if (shown === target) break;
    guess += (target - shown) * 60_000;
  }
  return new Date(guess);
}

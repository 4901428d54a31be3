import { addDays, easterSunday, isoDate, nthWeekdayOfMonth, weekday } from './iso-date.js';
import { zonedTime } from './zoned-time.js';

/**
 * The NYSE trading calendar: which dates have a regular session. Written here rather than taken from npm:
 * the packages on offer (nyse-holidays, trading-calendar) carry only the recurring holidays, not the one-off
 * closures, and pull in a date library for what is a page of rules. Checked against every bar of the bundled
 * 20-year price files (test/calendar/nyse.test.ts). Early closes (1 pm sessions) are trading days.
 */

/** Closures outside the holiday rules since 2005 (exchange-wide, all day). */
const ONE_OFF_CLOSURES: Readonly<Record<string, string>> = {
  '2007-01-02': 'National Day of Mourning for President Gerald R. Ford',
  '2012-10-29': 'Hurricane Sandy',
  '2012-10-30': 'Hurricane Sandy',
  '2018-12-05': 'National Day of Mourning for President George H. W. Bush',
  '2025-01-09': 'National Day of Mourning for President Jimmy Carter',
};

/** A fixed-date holiday falling on a Saturday is observed the Friday before, on a Sunday the Monday after. */
function observed(date: string): string {
  const day = weekday(date);
  return day === 6 ? addDays(date, -1) : day === 0 ? addDays(date, 1) : date;
}

const yearCache = new Map<number, ReadonlyMap<string, string>>();

/** Every full-day holiday of a year, observed date → name. */
export function holidays(year: number): ReadonlyMap<string, string> {
  const cached = yearCache.get(year);
  if (cached) return cached;
  const out = new Map<string, string>();
  // New Year's Day on a Saturday is not observed on the Friday before: NYSE Rule 7.2 keeps the last session of the year.
  const newYear = isoDate(year, 1, 1);
  if (weekday(newYear) !== 6) out.set(observed(newYear), "New Year's Day");
  out.set(nthWeekdayOfMonth(year, 1, 1, 3), 'Martin Luther King Jr. Day');
  out.set(nthWeekdayOfMonth(year, 2, 1, 3), "Washington's Birthday");
  out.set(addDays(easterSunday(year), -2), 'Good Friday');
  out.set(nthWeekdayOfMonth(year, 5, 1, -1), 'Memorial Day');
  if (year >= 2022) out.set(observed(isoDate(year, 6, 19)), 'Juneteenth National Independence Day');
  out.set(observed(isoDate(year, 7, 4)), 'Independence Day');
  out.set(nthWeekdayOfMonth(year, 9, 1, 1), 'Labor Day');
  out.set(nthWeekdayOfMonth(year, 11, 4, 4), 'Thanksgiving Day');
  out.set(observed(isoDate(year, 12, 25)), 'Christmas Day');
  for (const [date, name] of Object.entries(ONE_OFF_CLOSURES)) if (date.startsWith(`${year}-`)) out.set(date, name);
  yearCache.set(year, out);
  return out;
}

/** Why the exchange is closed on a date ("Saturday", "Good Friday", …), or undefined on a trading day. */
export function closureReason(date: string): string | undefined {
  const day = weekday(date);
  if (day === 6) return 'Saturday';
  if (day === 0) return 'Sunday';
  return holidays(Number(date.slice(0, 4))).get(date);
}

export function isTradingDay(date: string): boolean {
  return closureReason(date) === undefined;
}

/** The next `count` trading days strictly after `date` (which need not be one). */
export function nextTradingDays(date: string, count: number): string[] {
  const out: string[] = [];
  let day = date;
  while (out.length < count) {
    day = addDays(day, 1);
    if (isTradingDay(day)) out.push(day);
  }
  return out;
}

/** The last trading day strictly before `date`. */
export function previousTradingDay(date: string): string {
  let day = addDays(date, -1);
  while (!isTradingDay(day)) day = addDays(day, -1);
  return day;
}

/** Every trading day from `start` to `end`, both included. */
export function tradingDaysBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let day = start; day <= end; day = addDays(day, 1)) if (isTradingDay(day)) out.push(day);
  return out;
}

export const NYSE_TIME_ZONE = 'America/New_York';
/** The regular session closes at 16:00 New York time (early closes end sooner; a run after 16:00 is after both). */
const CLOSE_MINUTES = 16 * 60;

/** The most recent session whose regular close has passed at `now`. */
export function lastClosedSession(now: Date): string {
  const local = zonedTime(now, NYSE_TIME_ZONE);
  return isTradingDay(local.date) && local.minutes >= CLOSE_MINUTES ? local.date : previousTradingDay(local.date);
}

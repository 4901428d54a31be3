import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sessionCloseUtc } from '../../../src/calendar/session.js';

describe('sessionCloseUtc: 16:00 New York time in UTC', () => {
  it('is 20:00Z under daylight saving time and 21:00Z in winter, switching with the US rules of each year', () => {
    const cases: [string, string][] = [
      ['2025-01-15', '2025-01-15T21:00:00.000Z'],
      ['2025-07-15', '2025-07-15T20:00:00.000Z'],
      // 2025: DST from Sunday 9 March to Sunday 2 November.
      ['2025-03-07', '2025-03-07T21:00:00.000Z'],
      ['2025-03-10', '2025-03-10T20:00:00.000Z'],
      ['2025-10-31', '2025-10-31T20:00:00.000Z'],
      ['2025-11-03', '2025-11-03T21:00:00.000Z'],
      // 2006, before the 2007 rules: DST from the first Sunday of April (2 April).
      ['2006-03-20', '2006-03-20T21:00:00.000Z'],
      ['2006-04-03', '2006-04-03T20:00:00.000Z'],
    ];
    for (const [date, close] of cases) assert.equal(sessionCloseUtc(date), close, date);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { addDays, easterSunday, weekday } from '../../../src/calendar/iso-date.js';
import { closureReason, holidays, isTradingDay, nextTradingDays, previousTradingDay, tradingDaysBetween } from '../../../src/calendar/nyse.js';
import { repoRoot } from '../../helpers/paths.js';

const sampleDir = path.join(repoRoot, 'data', 'sample');

function barDates(file: string): string[] {
  return fs
    .readFileSync(path.join(sampleDir, file), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.slice(0, 10));
}

describe('NYSE calendar against the bundled 20-year price files', () => {
  const files = fs.readdirSync(sampleDir).filter((f) => f.endsWith('.csv'));

  test('the sample files are there', () => assert.ok(files.length >= 7, files.join(',')));

  for (const file of files) {
    test(`${file}: every bar date is a trading day, every weekday without a bar is a known closure`, () => {
      const dates = barDates(file);
      const bars = new Set(dates);
      const first = dates[0] as string;
      const last = dates.at(-1) as string;
      for (const date of dates) assert.equal(closureReason(date), undefined, `${file} has a bar on ${date}, a closure (${closureReason(date)})`);
      const closures: string[] = [];
      for (let day = first; day <= last; day = addDays(day, 1)) {
        if (weekday(day) === 0 || weekday(day) === 6 || bars.has(day)) continue;
        assert.ok(!isTradingDay(day), `${file} has no bar on ${day}, which the calendar calls a trading day`);
        closures.push(day);
      }
      // 9–10 holidays a year over about 20 years: the check above ran over real gaps, not an empty range
      assert.ok(closures.length > 9 * ((Number(last.slice(0, 4)) - Number(first.slice(0, 4)) - 1)), `${closures.length} closures`);
    });
  }
});

describe('holiday rules', () => {
  test('Good Friday from the Gregorian Easter', () => {
    assert.equal(easterSunday(2024), '2024-03-31');
    assert.equal(easterSunday(2025), '2025-04-20');
    assert.equal(easterSunday(2019), '2019-04-21');
    assert.equal(closureReason('2024-03-29'), 'Good Friday');
  });

  test('Juneteenth is a holiday from 2022 only, observed on the nearest weekday', () => {
    assert.ok(isTradingDay('2021-06-18'));
    assert.equal(closureReason('2022-06-20'), 'Juneteenth National Independence Day'); // 19 June 2022 was a Sunday
    assert.equal(closureReason('2023-06-19'), 'Juneteenth National Independence Day');
    assert.equal(closureReason('2027-06-18'), 'Juneteenth National Independence Day'); // Saturday → Friday
  });

  test('observance: Saturday → Friday, Sunday → Monday, except a Saturday New Year', () => {
    assert.equal(closureReason('2020-07-03'), 'Independence Day');
    assert.equal(closureReason('2022-12-26'), 'Christmas Day');
    assert.equal(closureReason('2017-01-02'), "New Year's Day");
    assert.ok(isTradingDay('2021-12-31'), 'New Year 2022 fell on a Saturday; 31 Dec 2021 was a session');
  });

  test('one-off closures since 2005', () => {
    for (const day of ['2007-01-02', '2012-10-29', '2012-10-30', '2018-12-05', '2025-01-09']) assert.ok(!isTradingDay(day), day);
  });

  test('2026 has the ten regular holidays', () => {
    assert.deepEqual([...holidays(2026).keys()].sort(), [
      '2026-01-01', '2026-01-19', '2026-02-16', '2026-04-03', '2026-05-25',
      '2026-06-19', '2026-07-03', '2026-09-07', '2026-11-26', '2026-12-25',
    ]);
  });
});

describe('trading-day arithmetic', () => {
  test('a 60-day forecast from the last sample bar skips Thanksgiving and Christmas', () => {
    const dates = nextTradingDays('2025-10-08', 60);
    assert.equal(dates.length, 60);
    assert.ok(!dates.includes('2025-11-27') && !dates.includes('2025-12-25'));
    assert.ok(dates.every(isTradingDay));
    assert.equal(dates.at(-1), '2026-01-05');
  });

  test('previous and ranges', () => {
    assert.equal(previousTradingDay('2025-12-26'), '2025-12-24');
    assert.equal(previousTradingDay('2025-01-13'), '2025-01-10');
    assert.deepEqual(tradingDaysBetween('2025-01-08', '2025-01-13'), ['2025-01-08', '2025-01-10', '2025-01-13']);
  });
});

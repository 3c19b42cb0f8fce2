import { describe, expect, it } from 'vitest';
import { timeZoneName, utcOffsetMinutes, zonedMonthStart } from '../../../services/validation/time-zone.ts';

describe('time zones', () => {
  it.each([
    ['UTC', Date.UTC(2026, 10, 1), 0],
    ['Europe/Berlin', Date.UTC(2026, 10, 1), 60],
    ['Europe/Berlin', Date.UTC(2026, 6, 1), 120],
    // The instant clocks go back (03:00 CEST → 02:00 CET on 25 October 2026, 01:00Z).
    ['Europe/Berlin', Date.UTC(2026, 9, 25, 0, 59, 59), 120],
    ['Europe/Berlin', Date.UTC(2026, 9, 25, 1), 60],
    ['Asia/Kolkata', Date.UTC(2026, 10, 1), 330],
    ['America/St_Johns', Date.UTC(2026, 10, 1), -150],
    ['America/New_York', Date.UTC(2026, 10, 1, 12, 0, 0, 500), -300],
  ])('%s is %i minutes from UTC at the given instant', (zone, at, minutes) => {
    expect(utcOffsetMinutes(zone, at)).toBe(minutes);
  });

  it.each(['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires'])('accepts %s', (zone) => {
    expect(timeZoneName.safeParse(zone).success).toBe(true);
  });

  it.each(['', 'Mars/Base', 'UTC+1; DROP TABLE x', 'x'.repeat(65)])('rejects %j', (zone) => {
    expect(timeZoneName.safeParse(zone).success).toBe(false);
  });
});

describe('zonedMonthStart', () => {
  it.each([
    [2026, 10, 'UTC', '2026-10-01T00:00:00.000Z'],
    // Berlin is on summer time on 1 October (UTC+2) and winter time on 1 November (UTC+1).
    [2026, 10, 'Europe/Berlin', '2026-09-30T22:00:00.000Z'],
    [2026, 11, 'Europe/Berlin', '2026-10-31T23:00:00.000Z'],
    [2026, 13, 'Europe/Berlin', '2026-12-31T23:00:00.000Z'],
    [2026, 10, 'Asia/Kolkata', '2026-09-30T18:30:00.000Z'],
    [2026, 10, 'America/New_York', '2026-10-01T04:00:00.000Z'],
  ])('%i-%i in %s starts at %s', (year, month, zone, expected) => {
    expect(new Date(zonedMonthStart(year, month, zone)).toISOString()).toBe(expected);
  });
});

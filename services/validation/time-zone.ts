import { z } from 'zod';

/** An IANA time zone name ("Europe/Berlin", "UTC"), as the runtime's time zone database knows it. */
export const timeZoneName = z
  .string()
  .min(1)
  .max(64)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as UTC or Europe/Berlin');

/** The zone's offset from UTC at an instant, in minutes (Berlin in winter: 60; Kolkata: 330). */
export function utcOffsetMinutes(zone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
    .formatToParts(new Date(at))
    .reduce<Record<string, number>>((acc, part) => (part.type === 'literal' ? acc : { ...acc, [part.type]: Number(part.value) }), {});
  const local = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return Math.round((local - Math.floor(at / 1000) * 1000) / 60_000);
}

/** The UTC instant of local midnight starting a calendar day ("2026-11-20") in a zone. */
export function zonedDayStart(day: string, zone: string): number {
  const wall = Date.parse(`${day}T00:00:00Z`);
  // Local wall time → instant: subtract the offset in force then; a second pass settles offsets that change near midnight.
  const first = wall - utcOffsetMinutes(zone, wall) * 60_000;
  return wall - utcOffsetMinutes(zone, first) * 60_000;
}

/** The UTC instant of local midnight starting the 1st of a month in a zone (month 1-12; 13 is January next year). */
export function zonedMonthStart(year: number, month: number, zone: string): number {
  return zonedDayStart(new Date(Date.UTC(year, month - 1, 1)).toISOString().slice(0, 10), zone);
}

/** The local calendar day ("2026-11-20") an instant falls on in a zone. */
export function zonedDay(at: number, zone: string): string {
  return new Date(at + utcOffsetMinutes(zone, at) * 60_000).toISOString().slice(0, 10);
}

import { describe, expect, it } from 'vitest';
import { forecastRunRate } from '../../../services/forecast/run-rate.ts';
import { decimalUnits, formatDecimal } from '../../../services/money/decimal.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Daily costs from `from` (inclusive) to `to` (exclusive): weekdays cost `weekday`, weekends `weekend`. */
function history(from: string, to: string, weekday: string, weekend: string, overrides: Record<string, string> = {}): Map<string, bigint> {
  const days = new Map<string, bigint>();
  for (let at = Date.parse(`${from}T00:00:00Z`); at < Date.parse(`${to}T00:00:00Z`); at += DAY_MS) {
    const day = new Date(at).toISOString().slice(0, 10);
    const dow = new Date(at).getUTCDay();
    days.set(day, decimalUnits(overrides[day] ?? (dow === 0 || dow === 6 ? weekend : weekday)));
  }
  return days;
}

const money = (forecast: ReturnType<typeof forecastRunRate>) => ({
  actual: formatDecimal(forecast.actual),
  projected: formatDecimal(forecast.projected),
  low: formatDecimal(forecast.low),
  high: formatDecimal(forecast.high),
});

describe('forecastRunRate', () => {
  // November 2026 starts on a Sunday; the 15th is a Sunday too.
  const base = { periodStart: '2026-11-01', periodEnd: '2026-12-01', asOf: '2026-11-15', weeks: 4 };

  it('projects each remaining day from the same weekday of the last weeks', () => {
    const daily = history('2026-10-18', '2026-11-15', '10', '2');
    // Actual 1-14 November: 10 weekdays × 10 + 4 weekend days × 2 = 108.
    // Remaining 15-30 November: 11 weekdays × 10 + 5 weekend days × 2 = 120.
    expect(money(forecastRunRate({ ...base, daily }))).toEqual({ actual: '108', projected: '228', low: '228', high: '228' });
  });

  it('gives a range from the cheapest to the dearest of the same weekdays', () => {
    // One Monday of the four cost 30 instead of 10: each remaining Monday expects (30 + 10 + 10 + 10) / 4 = 15, between 10 and 30.
    const daily = history('2026-10-18', '2026-11-15', '10', '2', { '2026-10-26': '30' });
    const forecast = forecastRunRate({ ...base, daily });
    // Remaining Mondays: 16, 23, 30 November → +5 each on the expectation, +20 each on the high end.
    expect(money(forecast)).toEqual({ actual: '108', projected: '243', low: '228', high: '288' });
    expect(forecast.days.find((day) => day.day === '2026-11-16')).toEqual({ day: '2026-11-16', expected: decimalUnits('15'), low: decimalUnits('10'), high: decimalUnits('30') });
  });

  it('counts days without usage as free, and has nothing to project once the period is over', () => {
    expect(money(forecastRunRate({ ...base, daily: new Map() }))).toEqual({ actual: '0', projected: '0', low: '0', high: '0' });
    const daily = history('2026-10-01', '2026-12-01', '1', '1');
    expect(money(forecastRunRate({ ...base, asOf: '2026-12-05', daily }))).toEqual({ actual: '30', projected: '30', low: '30', high: '30' });
  });

  it('rounds a weekday mean half-even at 10^-12 USD, never with floats', () => {
    // Three Mondays at 0 and one at 0.000000000001: the mean is 0.00000000000025, rounded to 0.
    const daily = history('2026-10-18', '2026-11-15', '0', '0', { '2026-10-19': '0.000000000001' });
    expect(forecastRunRate({ ...base, daily }).days.find((day) => day.day === '2026-11-16')?.expected).toBe(0n);
  });
});

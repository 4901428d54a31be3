import type { Bar } from '../market/bar.js';

/**
 * A deterministic, plausible price history of `count` trading days (a gentle drift with a wave in price and
 * volume, every feature finite). It exists for warm-up only: one forward pass compiles the kernels and checks
 * that a loaded version computes, which needs bars of the right shape, not real ones. Never served.
 */
export function syntheticWindow(count: number): Bar[] {
  const bars: Bar[] = [];
  const day = Date.UTC(2000, 0, 3);
  let previous = 100;
  for (let i = 0, calendar = 0; bars.length < count; calendar += 1) {
    const date = new Date(day + calendar * 86_400_000);
    if (date.getUTCDay() === 0 || date.getUTCDay() === 6) continue;
    const close = 100 * Math.exp(0.0005 * i + 0.02 * Math.sin(i / 4));
    bars.push({
      date: date.toISOString().slice(0, 10),
      open: previous,
      high: Math.max(previous, close) * 1.005,
      low: Math.min(previous, close) * 0.995,
      close,
      adjClose: close,
      volume: Math.round(1_000_000 * (1 + 0.3 * Math.sin(i / 3))),
    });
    previous = close;
    i += 1;
  }
  return bars;
}

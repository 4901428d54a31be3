import { DataValidationError } from '../errors.js';
import type { Bar } from './bar.js';
import { orderProblem, round6 } from './validation.js';

export interface MergedHistory {
  readonly bars: Bar[];
  /** Bars whose date was not stored before. */
  readonly added: number;
  /** Stored bars the fetch replaced with different values (a corrected or a live bar, or a new basis). */
  readonly updated: number;
  /**
   * Factors applied to the stored bars the fetch did not return, when the source's adjusted basis moved
   * (a split or a dividend rescales all earlier history); undefined when it had not.
   */
  readonly rescaled?: { readonly price: number; readonly volume: number };
}

/** Relative change below which two adjusted series are taken to be on the same basis (prices carry ~6 digits). */
const SAME_BASIS = 1e-6;
/** Volume is rescaled only by a split, which changes it by a whole ratio; noise below this is no split. */
const SAME_VOLUME_BASIS = 1e-3;

/**
 * Joins freshly fetched bars onto the stored history of a symbol: the fetched bars win on every date they
 * cover (the source's newest word, live-bar corrections included), stored bars of other dates are kept, and
 * nothing is duplicated. Adjusted prices are only comparable on one basis: when the fetched bars disagree
 * with the stored ones on the dates both hold by a constant factor (a dividend or split since the history
 * was stored), the kept stored bars are rescaled by that factor (volume by the split ratio), so the whole
 * series is on the fetched basis. Without a common date the basis cannot be checked, and joining would risk
 * a step in the series: DataValidationError.
 *
 * Both inputs must be validated and sorted ascending (as providers return them).
 */
export function mergeHistory(stored: readonly Bar[], fetched: readonly Bar[], symbol: string): MergedHistory {
  if (stored.length === 0) return { bars: [...fetched], added: fetched.length, updated: 0 };
  if (fetched.length === 0) return { bars: [...stored], added: 0, updated: 0 };
  const fetchedByDate = new Map(fetched.map((bar) => [bar.date, bar]));
  const common = stored.filter((bar) => fetchedByDate.has(bar.date));
  if (common.length === 0) {
    throw new DataValidationError(
      `fetched bars for ${symbol} (${fetched[0]?.date}..${fetched.at(-1)?.date}) share no date with the stored history ` +
        `(${stored[0]?.date}..${stored.at(-1)?.date}): their adjusted basis cannot be aligned`,
    );
  }
  // The basis is read where the kept bars join the fetched ones: at the earliest common date. (A dividend or
  // split rescales every bar before its ex-date, and every stored bar precedes an ex-date the store has not
  // seen; the last stored bar may have been a live bar the source has corrected since, hence the earliest.)
  const anchor = common[0] as Bar;
  const fetchedAnchor = fetchedByDate.get(anchor.date) as Bar;
  const price = fetchedAnchor.adjClose / anchor.adjClose;
  const volume = anchor.volume > 0 && fetchedAnchor.volume > 0 ? fetchedAnchor.volume / anchor.volume : 1;
  const rebase = Math.abs(price - 1) > SAME_BASIS;
  const rebaseVolume = Math.abs(volume - 1) > SAME_VOLUME_BASIS;

  const kept = stored
    .filter((bar) => !fetchedByDate.has(bar.date))
    .map((bar): Bar =>
      rebase || rebaseVolume
        ? {
            date: bar.date,
            open: rebase ? round6(bar.open * price) : bar.open,
            high: rebase ? round6(bar.high * price) : bar.high,
            low: rebase ? round6(bar.low * price) : bar.low,
            close: rebase ? round6(bar.close * price) : bar.close,
            adjClose: rebase ? round6(bar.adjClose * price) : bar.adjClose,
            volume: rebaseVolume ? Math.round(bar.volume * volume) : bar.volume,
          }
        : bar,
    );
  const storedDates = new Set(stored.map((bar) => bar.date));
  const bars = [...kept, ...fetched].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  bars.forEach((bar, index) => {
    const problem = orderProblem(bars[index - 1], bar);
    if (problem !== undefined) throw new DataValidationError(`merged history of ${symbol}: ${problem}`);
  });
  return {
    bars,
    added: fetched.filter((bar) => !storedDates.has(bar.date)).length,
    updated: common.filter((bar) => !sameBar(bar, fetchedByDate.get(bar.date) as Bar)).length,
    ...(rebase || rebaseVolume ? { rescaled: { price: rebase ? price : 1, volume: rebaseVolume ? volume : 1 } } : {}),
  };
}

function sameBar(a: Bar, b: Bar): boolean {
  return a.open === b.open && a.high === b.high && a.low === b.low && a.close === b.close && a.adjClose === b.adjClose && a.volume === b.volume;
}

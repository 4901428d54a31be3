import type { ScorableRow } from './scoring.js';

/** One bin of a reliability diagram: what `confidence` promised beside how often the direction was right. */
export interface ReliabilityBin {
  readonly bin: number;
  /** Matured forecasts in the bin, and how many of them were live / backfilled. */
  readonly count: number;
  readonly live: number;
  readonly backfilled: number;
  readonly confidence_min: number;
  readonly confidence_max: number;
  /** Mean `confidence` of the bin: the predicted probability that the direction is right. */
  readonly mean_confidence: number;
  /** Share of the bin's forecasts whose direction was right: the observed frequency. */
  readonly observed_hit_rate: number;
}

interface Judged {
  readonly id: number;
  readonly confidence: number;
  readonly hit: boolean;
  readonly backfilled: boolean;
}

/**
 * Equal-count bins of `confidence` over the matured rows that carry it (step 1): rows sorted by confidence (then id),
 * bin k ending at row ⌊(k+1)·n/B⌋, moved on past rows of the same confidence, so equal confidences always share a bin
 * (a model that always says the same probability gets one bin, not B copies of it). Equal-count rather than
 * equal-width bins because confidences crowd around 0.5: fixed tenths would put nearly every row in two bins.
 * At most B bins; no rows gives no bins.
 */
export function reliabilityBins(rows: readonly (ScorableRow & { readonly id: number })[], bins: number): ReliabilityBin[] {
  const judged: Judged[] = [];
  for (const r of rows) {
    if (r.confidence === null || r.outcome === null) continue;
    judged.push({ id: r.id, confidence: r.confidence, hit: r.outcome.direction_correct, backfilled: r.backfilled });
  }
  judged.sort((a, b) => a.confidence - b.confidence || a.id - b.id);
  const n = judged.length;
  const result: ReliabilityBin[] = [];
  let start = 0;
  for (let k = 1; k <= bins && start < n; k += 1) {
    let end = Math.floor((k * n) / bins);
    if (end <= start) continue;
    while (end < n && (judged[end] as Judged).confidence === (judged[end - 1] as Judged).confidence) end += 1;
    const members = judged.slice(start, end);
    start = end;
    const backfilled = members.filter((m) => m.backfilled).length;
    result.push({
      bin: result.length + 1,
      count: members.length,
      live: members.length - backfilled,
      backfilled,
      confidence_min: (members[0] as Judged).confidence,
      confidence_max: (members[members.length - 1] as Judged).confidence,
      mean_confidence: members.reduce((s, m) => s + m.confidence, 0) / members.length,
      observed_hit_rate: members.filter((m) => m.hit).length / members.length,
    });
  }
  return result;
}

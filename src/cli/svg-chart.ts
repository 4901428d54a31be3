import type { TestForecastPoint } from '../ml/types.js';

/** What the chart draws of a held-out forecast: the 80% band only. */
type ChartPoint = Pick<TestForecastPoint, 'date' | 'actual' | 'predicted' | 'lower_80' | 'upper_80' | 'naive'>;

export interface ChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly width?: number;
  readonly height?: number;
  /** Indices of points where a new backtest window starts; drawn as dotted vertical lines. */
  readonly windowStarts?: readonly number[];
}

const COLORS = { actual: '#111827', predicted: '#2563eb', band: '#93c5fd', naive: '#d97706', grid: '#e5e7eb', text: '#374151' };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** Round tick values spanning [min, max]. */
function niceTicks(min: number, max: number, count: number): number[] {
  const span = max - min || Math.abs(max) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/**
 * A self-contained SVG line chart of a backtest: actual closes, the model's forecast with its
 * 80% band, and the naive (last close) forecast, over trading days.
 */
export function forecastChartSvg(points: readonly ChartPoint[], options: ChartOptions): string {
  if (points.length === 0) throw new RangeError('cannot chart zero points');
  const width = options.width ?? 1000;
  const height = options.height ?? 480;
  const margin = { top: 56, right: 24, bottom: 64, left: 72 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const values = points.flatMap((p) => [p.actual, p.predicted, p.lower_80, p.upper_80, p.naive]).filter(Number.isFinite);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = (hi - lo) * 0.04 || 1;
  const yMin = lo - pad;
  const yMax = hi + pad;
  const x = (i: number): number => margin.left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (v: number): number => margin.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;
  const fmt = (v: number): string => v.toFixed(1);
  const path = (pick: (p: ChartPoint) => number): string => points.map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(x(i))},${fmt(y(pick(p)))}`).join('');
  const band = `${points.map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(x(i))},${fmt(y(p.upper_80))}`).join('')}${points
    .map((p, i) => ({ p, i }))
    .reverse()
    .map(({ p, i }) => `L${fmt(x(i))},${fmt(y(p.lower_80))}`)
    .join('')}Z`;

  const yTicks = niceTicks(yMin, yMax, 6).filter((v) => v >= yMin && v <= yMax);
  const xTickCount = Math.min(6, points.length);
  const xTicks = Array.from({ length: xTickCount }, (_, k) => Math.round((k / Math.max(1, xTickCount - 1)) * (points.length - 1)));
  const grid = yTicks
    .map((v) => `<line x1="${margin.left}" x2="${width - margin.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="${COLORS.grid}"/>` +
      `<text x="${margin.left - 8}" y="${fmt(y(v) + 4)}" text-anchor="end">${escapeXml(String(v))}</text>`)
    .join('');
  const xLabels = [...new Set(xTicks)]
    .map((i) => `<text x="${fmt(x(i))}" y="${height - margin.bottom + 20}" text-anchor="${i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle'}">${escapeXml(points[i]?.date ?? '')}</text>`)
    .join('');
  const windowLines = (options.windowStarts ?? [])
    .filter((i) => i > 0 && i < points.length)
    .map((i, k) => {
      const wx = fmt(x(i - 0.5));
      return `<line x1="${wx}" x2="${wx}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#6b7280" stroke-dasharray="2 3"/>` +
        `<text x="${wx}" y="${margin.top + 12}" text-anchor="middle" font-size="10">window ${k + 2}</text>`;
    })
    .join('');
  const legendItems: [string, string, string][] = [
    ['Actual close', COLORS.actual, ''],
    ['Model forecast', COLORS.predicted, ''],
    ['80% interval', COLORS.band, ''],
    ['Naive (last close)', COLORS.naive, '6 4'],
  ];
  const legend = legendItems
    .map(([label, color, dash], k) => {
      const lx = margin.left + k * 190;
      const ly = height - 18;
      const mark = label === '80% interval'
        ? `<rect x="${lx}" y="${ly - 9}" width="24" height="10" fill="${color}" fill-opacity="0.5"/>`
        : `<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
      return `${mark}<text x="${lx + 30}" y="${ly}">${escapeXml(label)}</text>`;
    })
    .join('');

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" fill="${COLORS.text}">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
    options.subtitle ? `<text x="${margin.left}" y="42">${escapeXml(options.subtitle)}</text>` : '',
    grid,
    windowLines,
    `<path d="${band}" fill="${COLORS.band}" fill-opacity="0.5" stroke="none"/>`,
    `<path d="${path((p) => p.naive)}" fill="none" stroke="${COLORS.naive}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    `<path d="${path((p) => p.actual)}" fill="none" stroke="${COLORS.actual}" stroke-width="1.5"/>`,
    `<path d="${path((p) => p.predicted)}" fill="none" stroke="${COLORS.predicted}" stroke-width="1.5"/>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
    xLabels,
    legend,
    '</svg>',
    '',
  ].join('\n');
}

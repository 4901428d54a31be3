import { toCsv } from './csv.js';
import { h, replaceChildren } from './dom.js';
import { integer, price, tradingDate } from './format.js';
import type { HistoricalBar } from './types.js';

type Column = 'timestamp' | 'open' | 'high' | 'low' | 'close' | 'volume';
type Direction = 'ascending' | 'descending';

const COLUMNS: readonly { key: Column; label: string }[] = [
  { key: 'timestamp', label: 'Date' },
  { key: 'open', label: 'Open' },
  { key: 'high', label: 'High' },
  { key: 'low', label: 'Low' },
  { key: 'close', label: 'Close' },
  { key: 'volume', label: 'Volume' },
];

function compare(a: HistoricalBar, b: HistoricalBar, column: Column): number {
  const x = a[column];
  const y = b[column];
  return typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
}

/**
 * The historical bars of the selected range in a sortable table. CSV export writes exactly the rows
 * shown, in the order shown, with the API's unrounded values.
 */
export function createHistoryTable(container: HTMLElement, exportButton: HTMLButtonElement, summary: HTMLElement) {
  let bars: readonly HistoricalBar[] = [];
  let symbol = '';
  let sortColumn: Column = 'timestamp';
  let direction: Direction = 'descending';

  const shownRows = (): HistoricalBar[] => {
    const sorted = [...bars].sort((a, b) => compare(a, b, sortColumn));
    return direction === 'ascending' ? sorted : sorted.reverse();
  };

  function header(): HTMLElement {
    return h(
      'tr',
      {},
      ...COLUMNS.map(({ key, label }) => {
        const active = key === sortColumn;
        const button = h(
          'button',
          { type: 'button', class: 'sort', 'data-sort': key, title: `Sort by ${label}` },
          label,
          h('span', { 'aria-hidden': 'true' }, active ? (direction === 'ascending' ? ' ▲' : ' ▼') : ''),
        );
        button.addEventListener('click', () => {
          direction = active && direction === 'ascending' ? 'descending' : 'ascending';
          sortColumn = key;
          render();
          container.querySelector<HTMLButtonElement>(`button[data-sort="${key}"]`)?.focus();
        });
        return h('th', { scope: 'col', 'aria-sort': active ? direction : 'none', class: key === 'timestamp' ? '' : 'num' }, button);
      }),
    );
  }

  function render(): void {
    const rows = shownRows();
    exportButton.disabled = rows.length === 0;
    if (rows.length === 0) {
      summary.textContent = symbol === '' ? '' : `No historical rows for ${symbol} in this range.`;
      replaceChildren(container, h('p', { class: 'empty', 'data-testid': 'history-empty' }, 'No data to show.'));
      return;
    }
    summary.textContent = `Showing ${rows.length} rows for ${symbol}.`;
    replaceChildren(
      container,
      h(
        'table',
        { class: 'data', 'data-testid': 'history-table' },
        h('caption', { class: 'visually-hidden' }, `Daily prices of ${symbol}; column buttons sort the table`),
        h('thead', {}, header()),
        h(
          'tbody',
          {},
          ...rows.map((bar) =>
            h(
              'tr',
              {},
              h('td', {}, tradingDate(bar.timestamp)),
              h('td', { class: 'num' }, price(bar.open)),
              h('td', { class: 'num' }, price(bar.high)),
              h('td', { class: 'num' }, price(bar.low)),
              h('td', { class: 'num' }, price(bar.close)),
              h('td', { class: 'num' }, integer(bar.volume)),
            ),
          ),
        ),
      ),
    );
  }

  exportButton.addEventListener('click', () => {
    const rows = shownRows();
    const csv = toCsv(
      ['symbol', 'date', 'open', 'high', 'low', 'close', 'volume'],
      rows.map((bar) => [bar.symbol, tradingDate(bar.timestamp), bar.open, bar.high, bar.low, bar.close, bar.volume]),
    );
    const link = h('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: `${symbol}-history.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    // Revoked later: the browser reads the blob after click() returns.
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  });

  return {
    show(nextSymbol: string, nextBars: readonly HistoricalBar[]): void {
      symbol = nextSymbol;
      bars = nextBars;
      render();
    },
    clear(): void {
      symbol = '';
      bars = [];
      render();
    },
  };
}

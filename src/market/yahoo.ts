import { FileCacheTier } from '../cache/file-tier.js';
import { MemoryCacheTier } from '../cache/memory-tier.js';
import { createSingleFlight } from '../cache/single-flight.js';
import type { CacheTier } from '../cache/tier.js';
import { DataValidationError, errorMessage, NotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { SYMBOL_PATTERN, type Bar } from './bar.js';
import { observed, type FetchObserver } from './observer.js';
import type { BarQuery, MarketDataProvider } from './provider.js';
import { RequestPacer, sleep, type FetchPriority } from './rate-limit.js';
import { barProblem, barsInRange, checkQuery, orderProblem, round6 } from './validation.js';

export interface YahooChartProviderOptions {
  /** Scheme and host of the chart API, e.g. `https://query2.finance.yahoo.com` (a local server in tests). */
  readonly baseUrl: string;
  /** Per attempt, covering headers and body. */
  readonly timeoutMs: number;
  /** Extra attempts after the first on network errors, timeouts, HTTP 5xx and 429. */
  readonly maxRetries: number;
  /**
   * The whole fetch — waiting for the rate limiter, every attempt and the backoff between them — ends
   * within this many ms (`MARKET_FETCH_BUDGET`); attempts are cut short to fit. Default: unbounded.
   */
  readonly budgetMs?: number;
  readonly requestsPerSecond: number;
  /** First lookups of symbols allowed to wait for the rate limiter at once (`MARKET_LOOKUP_QUEUE_MAX`, default 10). */
  readonly maxQueuedLookups?: number;
  /** Raw-response cache folder (`persistent_data/stock_data/cache/`). */
  readonly cacheDir: string;
  /** How long a raw response is reused (`STOCK_DATA_TTL`). */
  readonly ttlSeconds: number;
  /**
   * How long past the TTL a cached response is still kept, to be served (marked stale) when
   * Yahoo is unavailable; default 7 days. 0 disables it.
   */
  readonly staleIfErrorSeconds?: number;
  readonly userAgent: string;
  /** Bound on cached responses (default 1000). */
  readonly cacheMaxEntries?: number;
  /** First retry delay; doubles per attempt (default 250 ms). */
  readonly retryBaseDelayMs?: number;
  readonly onFetch?: FetchObserver;
  /** Defaults to Node's global fetch (undici). */
  readonly fetch?: typeof fetch;
}

/** What the file cache holds per request: the body exactly as received, and when. */
interface CachedBody {
  readonly fetchedAt: number;
  readonly body: string;
}

interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** Longest wait honoured from a 429's Retry-After header. */
const MAX_RETRY_AFTER_MS = 10_000;

/**
 * Daily bars from Yahoo's v8 chart endpoint. Each successful raw body is cached in a file tier
 * for `ttlSeconds`, so repeated reads within the TTL make no request; past the TTL it is kept
 * `staleIfErrorSeconds` longer and served, marked stale, only when Yahoo is unavailable.
 * Failures are typed:
 * unknown symbol → NotFoundError; unreachable, timed out, 5xx/429 after retries, HTML or
 * unparsable JSON → UnavailableError; JSON of the wrong shape → DataValidationError.
 * Bars follow the rules of `parseChartBody`.
 */
export class YahooChartProvider implements MarketDataProvider {
  readonly name = 'yahoo';
  private readonly options: YahooChartProviderOptions;
  /** Raw bodies on disk (survive restarts), kept `ttl + staleIfError`; fresh for `ttl`. */
  private readonly cache: CacheTier<CachedBody>;
  private readonly ttlMs: number;
  /** Parsed bars of those bodies, so a hit does not re-parse hundreds of KB of JSON per request. */
  private readonly parsed: CacheTier<readonly Bar[]>;
  private readonly pacer: RequestPacer;
  private readonly fetch: typeof fetch;
  private readonly singleFlight = createSingleFlight();

  constructor(options: YahooChartProviderOptions) {
    this.options = options;
    this.ttlMs = options.ttlSeconds * 1000;
    this.cache = new FileCacheTier<CachedBody>({
      directory: options.cacheDir,
      ttlSeconds: options.ttlSeconds + (options.staleIfErrorSeconds ?? 7 * 86_400),
      maxEntries: options.cacheMaxEntries ?? 1000,
      name: 'yahoo',
    });
    this.parsed = new MemoryCacheTier<readonly Bar[]>({ maxEntries: 64, ttlSeconds: options.ttlSeconds });
    this.pacer = new RequestPacer({
      ratePerSecond: options.requestsPerSecond,
      ...(options.maxQueuedLookups === undefined ? {} : { maxQueuedLookups: options.maxQueuedLookups }),
    });
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async getBars(symbol: string, query: BarQuery = {}): Promise<Bar[]> {
    if (!SYMBOL_PATTERN.test(symbol)) throw new ValidationError(`invalid symbol "${symbol}"`, { symbol }, 'INVALID_SYMBOL');
    checkQuery(query);
    return observed(this.options.onFetch, { source: this.name, symbol }, async (marks) => {
      // `to` absent means "up to now": one entry per (symbol, from) until the TTL runs out.
      const key = `yahoo-chart:${symbol}:${query.from ?? 'start'}:${query.to ?? 'latest'}`;
      // Concurrent requests for the same chart share one lookup and at most one HTTP request.
      const loaded = await this.singleFlight(key, () => this.load(key, symbol, query));
      if (loaded.origin === 'stale') marks.stale(loaded.failure);
      else if (loaded.origin === 'cache') marks.cached();
      return barsInRange(loaded.bars, query.from, query.to);
    });
  }

  private async load(
    key: string,
    symbol: string,
    query: BarQuery,
  ): Promise<{ bars: readonly Bar[]; origin: 'cache' | 'network' | 'stale'; failure?: string }> {
    const memo = await this.parsed.get(key);
    if (memo !== undefined) return { bars: memo.value, origin: 'cache' };
    const stored = asCachedBody((await this.cache.get(key))?.value);
    const freshForMs = stored === undefined ? 0 : stored.fetchedAt + this.ttlMs - Date.now();
    if (stored !== undefined && freshForMs > 0) return { bars: await this.remember(key, stored.body, symbol, freshForMs), origin: 'cache' };
    let response: RawResponse;
    let bars: Bar[];
    try {
      response = await this.request(this.chartUrl(symbol, query), query.priority ?? 'lookup');
      bars = parseChartBody(decodeBody(response, symbol), symbol);
    } catch (error) {
      // Yahoo down, or a 200 that is no chart (HTML, garbage, the wrong shape): an older answer beats none,
      // and the observer is told it is stale and why.
      const sourceFailed = error instanceof UnavailableError || error instanceof DataValidationError;
      if (!sourceFailed || stored === undefined) throw error;
      return { bars: parseChartBody(JSON.parse(stored.body), symbol), origin: 'stale', failure: error.name };
    }
    await this.cache.set(key, { fetchedAt: Date.now(), body: response.text });
    return { bars: await this.remember(key, response.text, symbol, this.ttlMs, bars), origin: 'network' };
  }

  /** Keeps parsed bars in memory while their body is fresh, so a hit does not re-parse the JSON. */
  private async remember(key: string, body: string, symbol: string, freshForMs: number, parsed?: Bar[]): Promise<readonly Bar[]> {
    // Bars are frozen (shared by every caller); the array is not: V8 copies frozen arrays ~100x slower.
    const bars = (parsed ?? parseChartBody(JSON.parse(body), symbol)).map((bar) => Object.freeze(bar));
    await this.parsed.set(key, bars, freshForMs);
    return bars;
  }

  async listSymbols(): Promise<string[]> {
    return [];
  }

  private chartUrl(symbol: string, query: BarQuery): string {
    const url = new URL(`/v8/finance/chart/${encodeURIComponent(symbol)}`, this.options.baseUrl);
    url.searchParams.set('interval', '1d');
    url.searchParams.set('events', 'div|split');
    url.searchParams.set('includeAdjustedClose', 'true');
    if (query.from === undefined && query.to === undefined) {
      url.searchParams.set('range', 'max');
    } else {
      const day = 86_400;
      url.searchParams.set('period1', String(query.from === undefined ? 0 : Date.parse(`${query.from}T00:00:00Z`) / 1000));
      // period2 is exclusive: the day after `to` includes `to` in every exchange time zone west of UTC+24.
      const end = query.to === undefined ? Math.floor(Date.now() / 1000) : Date.parse(`${query.to}T00:00:00Z`) / 1000 + day;
      url.searchParams.set('period2', String(end));
    }
    return url.toString();
  }

  /**
   * GET with per-attempt timeout, pacing (refreshes ahead of lookups) and exponential backoff on transient
   * failures, all inside the fetch budget: a slow upstream costs the caller the budget, never minutes.
   */
  private async request(url: string, priority: FetchPriority): Promise<RawResponse> {
    const { timeoutMs, maxRetries } = this.options;
    const budgetMs = this.options.budgetMs ?? Infinity;
    const deadline = performance.now() + budgetMs;
    const baseDelay = this.options.retryBaseDelayMs ?? 250;
    let failure = 'no attempt made';
    let attempts = 0;
    for (let attempt = 0; attempt <= maxRetries; attempt += 1) {
      let delay = baseDelay * 2 ** attempt * (1 + Math.random() * 0.2);
      try {
        await this.pacer.take(priority, deadline);
      } catch (error) {
        // The first turn refused (queue full, or it would come too late) is the answer; a later one ends the retries.
        if (attempt === 0) throw error;
        break;
      }
      const attemptMs = Math.ceil(Math.min(timeoutMs, deadline - performance.now()));
      if (attemptMs <= 0) break;
      attempts += 1;
      try {
        const response = await this.fetch(url, {
          headers: { 'user-agent': this.options.userAgent, accept: 'application/json' },
          signal: AbortSignal.timeout(attemptMs),
        });
        const text = await response.text();
        const raw = { status: response.status, contentType: response.headers.get('content-type') ?? '', text };
        if (response.status !== 429 && response.status < 500) return raw;
        failure = `HTTP ${response.status}`;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (response.status === 429 && retryAfter > 0) delay = Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS);
      } catch (error) {
        failure = describeNetworkError(error, attemptMs);
      }
      if (attempt < maxRetries) {
        if (performance.now() + delay >= deadline) break;
        await sleep(delay);
      }
    }
    const within = Number.isFinite(budgetMs) ? ` within the ${budgetMs} ms fetch budget` : '';
    throw new UnavailableError(`Yahoo chart API failed after ${attempts} attempt(s)${within}: ${failure}`, 30, { url: redactQuery(url) });
  }
}

/**
 * Turns a raw HTTP answer into JSON, or the typed error it stands for. 404 carries Yahoo's
 * `chart.error` body for unknown symbols; any other non-2xx, an HTML page (consent or error
 * pages) and unparsable text are the upstream's failure, not the caller's.
 */
function decodeBody(response: RawResponse, symbol: string): unknown {
  const looksLikeHtml = /html/i.test(response.contentType) || /^\s*</.test(response.text);
  if (looksLikeHtml) {
    throw new UnavailableError(`Yahoo returned HTML instead of JSON for ${symbol} (HTTP ${response.status}, content-type "${response.contentType}")`);
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch (error) {
    throw new UnavailableError(
      `Yahoo returned a malformed JSON body for ${symbol} (HTTP ${response.status}, ${response.text.length} bytes): ${(error as Error).message}`,
    );
  }
  if (response.status >= 200 && response.status < 300) return body;
  // parseChartBody turns Yahoo's error object into NotFoundError / UnavailableError.
  if (chartError(body) !== undefined) return body;
  if (response.status === 404) throw new NotFoundError(`Yahoo has no chart for ${symbol} (HTTP 404)`, { symbol });
  throw new UnavailableError(`Yahoo chart API answered HTTP ${response.status} for ${symbol}`);
}

interface ChartError {
  readonly code: string;
  readonly description: string;
}

function chartError(body: unknown): ChartError | undefined {
  const error = field(field(body, 'chart'), 'error');
  if (error === undefined || error === null) return undefined;
  return { code: String(field(error, 'code') ?? 'unknown'), description: String(field(error, 'description') ?? '') };
}

/**
 * Bars from a v8 chart body `{chart: {result: [{meta, timestamp, indicators: {quote, adjclose}}], error}}`.
 *
 * - `chart.error` with code "Not Found" → NotFoundError; any other chart error → UnavailableError.
 * - Missing/empty `result`, missing time zone, missing `adjclose`, or a series whose length
 *   differs from `timestamp` → DataValidationError (the body is not what we can trust).
 * - A result without `timestamp` (a range with no trading day) → no bars.
 * - Trading date: each timestamp (the session open, UTC) converted to a calendar date in
 *   `meta.exchangeTimezoneName`; `meta.gmtoffset` is not used (it is only valid for today).
 * - Null rule: a bar with a null in any of open/high/low/close/adjclose/volume (halted days,
 *   a live bar still forming) is skipped; no value is ever invented for it.
 * - Adjustment rule: prices are served on the basis of the shipped CSVs (yfinance
 *   `auto_adjust`): adjClose = `adjclose`, and open/high/low/close are scaled by
 *   adjclose/close, so close == adjClose exactly as in the CSVs. Volume is used as given.
 *   A model trained on the CSVs therefore sees the same series from Yahoo, whichever column
 *   it reads.
 * - Live-bar rule: if the LAST two bars fall on the same trading date, the later one replaces
 *   the earlier (Yahoo appends the still-forming session). Any other duplicate or out-of-order
 *   date, or a bar failing the shared checks (non-positive price, high < low) → DataValidationError.
 */
export function parseChartBody(body: unknown, symbol: string): Bar[] {
  const error = chartError(body);
  if (error !== undefined) {
    if (error.code === 'Not Found') throw new NotFoundError(`Yahoo has no data for ${symbol}: ${error.description}`, { symbol });
    throw new UnavailableError(`Yahoo chart error for ${symbol}: ${error.code}: ${error.description}`);
  }
  const source = `Yahoo chart response for ${symbol}`;
  const results = field(field(body, 'chart'), 'result');
  if (!Array.isArray(results) || results.length === 0) throw new DataValidationError(`${source} has an empty result`);
  const result: unknown = results[0];
  const timestamps = field(result, 'timestamp');
  if (timestamps === undefined) return [];
  if (!Array.isArray(timestamps)) throw new DataValidationError(`${source}: timestamp is not a list`);
  const timeZone = field(field(result, 'meta'), 'exchangeTimezoneName');
  if (typeof timeZone !== 'string') throw new DataValidationError(`${source}: meta.exchangeTimezoneName is missing`);
  const toDate = tradingDateFormatter(timeZone, source);

  const quote = firstOf(field(field(result, 'indicators'), 'quote'));
  const adjclose = field(firstOf(field(field(result, 'indicators'), 'adjclose')), 'adjclose');
  const series = (name: string, values: unknown): unknown[] => {
    if (!Array.isArray(values)) throw new DataValidationError(`${source}: ${name} series is missing`);
    if (values.length !== timestamps.length) {
      throw new DataValidationError(`${source}: ${name} has ${values.length} values for ${timestamps.length} timestamps`);
    }
    return values;
  };
  const columns = {
    open: series('open', field(quote, 'open')),
    high: series('high', field(quote, 'high')),
    low: series('low', field(quote, 'low')),
    close: series('close', field(quote, 'close')),
    volume: series('volume', field(quote, 'volume')),
    adjclose: series('adjclose', adjclose),
  };

  const bars: Bar[] = [];
  timestamps.forEach((timestamp: unknown, index) => {
    const values = [columns.open[index], columns.high[index], columns.low[index], columns.close[index], columns.adjclose[index], columns.volume[index]];
    if (values.some((value) => value === null)) return;
    const where = `${source}, bar ${index}`;
    if (typeof timestamp !== 'number' || !values.every((value) => typeof value === 'number')) {
      throw new DataValidationError(`${where}: timestamp and prices must be numbers`);
    }
    const [open, high, low, close, adjClose, volume] = values as [number, number, number, number, number, number];
    const date = toDate(timestamp);
    const problem = barProblem({ date, open, high, low, close, adjClose, volume });
    if (problem !== undefined) throw new DataValidationError(`${where} (${date}): ${problem}`);
    const scale = adjClose / close;
    const bar: Bar = {
      date,
      open: round6(open * scale),
      high: round6(high * scale),
      low: round6(low * scale),
      close: adjClose,
      adjClose,
      volume,
    };
    const previous = bars[bars.length - 1];
    if (previous?.date === bar.date && index === timestamps.length - 1) {
      bars[bars.length - 1] = bar;
      return;
    }
    const order = orderProblem(previous, bar);
    if (order !== undefined) throw new DataValidationError(`${where}: ${order}`);
    bars.push(bar);
  });
  return bars;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function tradingDateFormatter(timeZone: string, source: string): (epochSeconds: number) => string {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      throw new DataValidationError(`${source}: unknown exchange time zone "${timeZone}"`);
    }
    formatters.set(timeZone, formatter);
  }
  const format = formatter;
  return (epochSeconds) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(epochSeconds * 1000)).map((part) => [part.type, part.value]));
    return `${parts.year}-${parts.month}-${parts.day}`;
  };
}

/** A cache entry in the current format, or undefined (e.g. written by an older version). */
function asCachedBody(value: unknown): CachedBody | undefined {
  return typeof field(value, 'body') === 'string' && typeof field(value, 'fetchedAt') === 'number' ? (value as CachedBody) : undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : undefined;
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `network error: ${errorMessage(error)}${cause}`;
}

/** The URL without its query, for error details (the path names the symbol; that is enough). */
function redactQuery(url: string): string {
  return url.split('?')[0] ?? url;
}

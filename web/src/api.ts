import type {
  ApiErrorBody,
  HealthResponse,
  HistoricalResponse,
  ModelDetail,
  ModelSummary,
  Prediction,
  ReliabilityResponse,
  StatsResponse,
  SymbolTrackedAccuracy,
  TestForecastsResponse,
  TrackedForecast,
  TrendsResponse,
} from './types.js';

/** Why a request failed, in the terms the page explains to the user. */
export type FailureKind = 'unreachable' | 'not-found' | 'rate-limited' | 'bad-request' | 'unavailable' | 'server';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    /** HTTP status, or 0 when no response arrived. */
    readonly status: number,
    /** Seconds from the Retry-After header, when the server sent one. */
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function kindOf(status: number): FailureKind {
  if (status === 404) return 'not-found';
  if (status === 429) return 'rate-limited';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'bad-request';
  return 'server';
}

function parseRetryAfter(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'string';
}

/**
 * Thin client for the service's JSON API. `baseUrl` is resolved against the page, so the same build works
 * when the service itself serves it and behind nginx's `/api` proxy.
 */
export function createApiClient(baseUrl: string, fetchImpl: typeof fetch = fetch.bind(globalThis)) {
  async function getJson<T>(path: string, okStatuses: readonly number[] = [200]): Promise<T> {
    let response: Response;
    try {
      // no-cache: predictions and history carry max-age, but the dashboard shows what the service says now; the
      // browser revalidates with If-None-Match (a 304 when nothing changed) and never shows a stale copy as live.
      response = await fetchImpl(new URL(path, baseUrl), { headers: { accept: 'application/json' }, cache: 'no-cache' });
    } catch {
      throw new ApiError('The service could not be reached. Is it running?', 'unreachable', 0, null);
    }
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      // A proxy error page or an empty body: described below from the status alone.
    }
    if (okStatuses.includes(response.status) && body !== null) return body as T;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    const message = isErrorBody(body) ? body.error : `The service answered HTTP ${response.status} without a usable body.`;
    throw new ApiError(message, kindOf(response.status), response.status, retryAfter);
  }

  const symbolPath = (symbol: string) => encodeURIComponent(symbol);

  return {
    async models(): Promise<ModelSummary[]> {
      const body = await getJson<ModelSummary[] | { models: ModelSummary[] }>('api/v1/models');
      return Array.isArray(body) ? body : body.models;
    },
    model: (symbol: string) => getJson<ModelDetail>(`api/v1/models/${symbolPath(symbol)}`),
    predict: (symbol: string, days: number) =>
      getJson<Prediction>(`api/v1/predict/${symbolPath(symbol)}?days=${days}`),
    testForecasts: (symbol: string, days: number) =>
      getJson<TestForecastsResponse>(`api/v1/models/${symbolPath(symbol)}/test-forecasts?days=${days}`),
    historical: (symbol: string, days: number) =>
      getJson<HistoricalResponse>(`api/v1/historical/${symbolPath(symbol)}?days=${days}`),
    // 503 still carries the health document (status "unhealthy"), which is what the panel shows.
    health: () => getJson<HealthResponse>('api/v1/health', [200, 503]),
    stats: () => getJson<StatsResponse>('api/v1/stats'),
    // Prediction tracking: out-of-sample rows only (the API leaves in-sample rows out unless asked).
    trackedAccuracy: (symbol: string, step: number) =>
      getJson<SymbolTrackedAccuracy>(`api/v1/predictions/accuracy/${symbolPath(symbol)}?horizon=${step}`),
    trackedForecasts: (symbol: string, step: number, limit: number) =>
      getJson<TrackedForecast[]>(`api/v1/predictions/history/${symbolPath(symbol)}?horizon=${step}&limit=${limit}&order_by=date&order_dir=desc`),
    trends: (symbol: string, step: number, days: number, window: number) =>
      getJson<TrendsResponse>(`api/v1/predictions/trends/${symbolPath(symbol)}?horizon=${step}&days=${days}&window=${window}`),
    reliability: (symbol: string, bins: number) =>
      getJson<ReliabilityResponse>(`api/v1/predictions/accuracy/reliability?symbols=${symbolPath(symbol)}&bins=${bins}`),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

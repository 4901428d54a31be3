import path from 'node:path';

/**
 * The persistent_data/ tree of the seed (RELEASE_NOTES_v3.3.1). Every path the service,
 * the CLI and the operator scripts use is derived here, so the layout lives in one place.
 */
export interface DataLayout {
  readonly root: string;
  readonly mlModels: string;
  readonly mlCache: string;
  readonly scalers: string;
  readonly stockData: string;
  readonly historical: string;
  readonly stockDataCache: string;
  readonly predictions: string;
  /** Live adaptive band states of the served model versions (see ml/adaptive-bands.ts). */
  readonly adaptiveBands: string;
  /** The embedded prediction-tracking database (SQLite; its -wal and -shm files sit beside it). */
  readonly predictionsDb: string;
  readonly logs: string;
  readonly applicationLogs: string;
  readonly logFile: string;
  readonly config: string;
  readonly backups: string;
  readonly redis: string;
  readonly prometheus: string;
  readonly grafana: string;
  readonly frontend: string;
}

export interface LayoutOverrides {
  readonly mlModels?: string | undefined;
  readonly mlCache?: string | undefined;
  readonly scalers?: string | undefined;
  readonly stockDataCache?: string | undefined;
  readonly logs?: string | undefined;
  readonly logFile?: string | undefined;
  readonly backups?: string | undefined;
  readonly config?: string | undefined;
}

export function dataLayout(root: string, overrides: LayoutOverrides = {}): DataLayout {
  const abs = path.resolve(root);
  const logs = overrides.logs ?? path.join(abs, 'logs');
  const stockData = path.join(abs, 'stock_data');
  const applicationLogs = path.join(logs, 'application');
  return {
    root: abs,
    mlModels: overrides.mlModels ?? path.join(abs, 'ml_models'),
    mlCache: overrides.mlCache ?? path.join(abs, 'ml_cache'),
    scalers: overrides.scalers ?? path.join(abs, 'scalers'),
    stockData,
    historical: path.join(stockData, 'historical'),
    stockDataCache: overrides.stockDataCache ?? path.join(stockData, 'cache'),
    predictions: path.join(stockData, 'predictions'),
    predictionsDb: path.join(stockData, 'predictions', 'predictions.sqlite'),
    adaptiveBands: path.join(stockData, 'predictions', 'adaptive_bands'),
    logs,
    applicationLogs,
    logFile: overrides.logFile ?? path.join(applicationLogs, 'stock-prediction.log'),
    config: overrides.config ?? path.join(abs, 'config'),
    backups: overrides.backups ?? path.join(abs, 'backups'),
    redis: path.join(abs, 'redis'),
    prometheus: path.join(abs, 'prometheus'),
    grafana: path.join(abs, 'grafana'),
    frontend: path.join(abs, 'frontend'),
  };
}

/** Every directory of the tree, in creation order (parents first). */
export function layoutDirectories(layout: DataLayout): string[] {
  return [
    layout.root,
    layout.mlModels,
    layout.mlCache,
    layout.scalers,
    layout.stockData,
    layout.historical,
    layout.stockDataCache,
    layout.predictions,
    layout.logs,
    layout.applicationLogs,
    path.join(layout.logs, 'prometheus'),
    path.join(layout.logs, 'grafana'),
    layout.config,
    layout.backups,
    layout.redis,
    layout.prometheus,
    layout.grafana,
    layout.frontend,
    path.join(layout.frontend, 'logs'),
    path.join(layout.frontend, 'cache'),
  ];
}

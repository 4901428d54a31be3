import type { Selectable } from 'kysely';
import type { TrackingDb } from './db/connect.js';
import type { DailyRunsTable, ForecastsTable } from './db/schema.js';
import { scoreForecast, type Outcome } from './scoring.js';

/** One forecast step as issued, before its target day has closed. */
export interface IssuedForecast {
  readonly symbol: string;
  readonly issue_date: string;
  readonly horizon: number;
  readonly model_key: string;
  readonly model_version: string;
  readonly target_date: string;
  readonly forecast: number;
  readonly lower_80: number;
  readonly upper_80: number;
  readonly lower_95: number;
  readonly upper_95: number;
  readonly confidence: number | null;
  readonly probability_up: number | null;
  readonly signal: string;
  readonly naive_forecast: number;
  readonly backfilled: boolean;
  readonly in_sample: boolean;
}

export interface StoredForecast extends IssuedForecast {
  readonly id: number;
  readonly created_at: string;
  readonly outcome: Outcome | null;
  readonly scored_at: string | null;
}

export type OrderBy = 'date' | 'accuracy' | 'confidence';

export interface ForecastQuery {
  readonly symbols?: readonly string[] | undefined;
  /** Issue dates from/to (inclusive). */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** Target dates from/to (inclusive). */
  readonly targetFrom?: string | undefined;
  readonly targetTo?: string | undefined;
  readonly matured?: boolean | undefined;
  /** Rows inside a model's fitting data are left out unless asked for. */
  readonly includeInSample?: boolean | undefined;
  /** true: backfilled (replayed) rows only; false: live rows only; absent: both. */
  readonly backfilled?: boolean | undefined;
  readonly horizons?: readonly number[] | undefined;
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
  readonly orderBy?: OrderBy | undefined;
  readonly orderDir?: 'asc' | 'desc' | undefined;
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'skipped';
export type DailyRun = Selectable<DailyRunsTable>;

export interface RunStart {
  readonly execution_date: string;
  readonly execution_type: string;
  readonly total_symbols: number;
}

export interface RunEnd {
  readonly status: RunStatus;
  readonly symbols_succeeded: readonly string[];
  readonly symbols_failed: readonly { symbol: string; error: string }[];
  readonly successful_predictions: number;
  readonly failed_predictions: number;
  readonly recorded_forecasts: number;
  readonly scored_forecasts: number;
  readonly execution_duration_ms: number;
  readonly error_message: string | null;
}

/** Rows per INSERT statement: 26 columns × 400 stays under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 400;

const flag = (value: boolean): number => (value ? 1 : 0);

function toStored(row: Selectable<ForecastsTable>): StoredForecast {
  const outcome: Outcome | null =
    row.actual === null
      ? null
      : {
          actual: row.actual,
          abs_error: row.abs_error as number,
          pct_error: row.pct_error as number,
          naive_abs_error: row.naive_abs_error as number,
          direction_correct: row.direction_correct === 1,
          actual_up: row.actual_up === 1,
          inside_80: row.inside_80 === 1,
          inside_95: row.inside_95 === 1,
        };
  return {
    id: row.id,
    symbol: row.symbol,
    issue_date: row.issue_date,
    horizon: row.horizon,
    model_key: row.model_key,
    model_version: row.model_version,
    target_date: row.target_date,
    forecast: row.forecast,
    lower_80: row.lower_80,
    upper_80: row.upper_80,
    lower_95: row.lower_95,
    upper_95: row.upper_95,
    confidence: row.confidence,
    probability_up: row.probability_up,
    signal: row.signal,
    naive_forecast: row.naive_forecast,
    backfilled: row.backfilled === 1,
    in_sample: row.in_sample === 1,
    created_at: row.created_at,
    outcome,
    scored_at: row.scored_at,
  };
}

/**
 * The tracking store: forecasts as issued, their outcomes once matured, the daily-run log and the cross-replica
 * run lock. Every write is one transaction and every forecast insert is keyed by (symbol, issue date, horizon step,
 * model version) with ON CONFLICT DO NOTHING, so a re-run changes nothing and a crash leaves no partial day.
 */
export class TrackingStore {
  constructor(private readonly handle: TrackingDb) {}

  get dialect(): TrackingDb['dialect'] {
    return this.handle.dialect;
  }

  private get db() {
    return this.handle.db;
  }

  /** Records forecasts; rows whose key already exists are left as they are. Returns how many were new. */
  async recordForecasts(rows: readonly IssuedForecast[], now: Date = new Date()): Promise<number> {
    if (rows.length === 0) return 0;
    const createdAt = now.toISOString();
    return this.db.transaction().execute(async (trx) => {
      let inserted = 0;
      for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
        const values = rows.slice(start, start + INSERT_CHUNK).map((r) => ({
          ...r,
          backfilled: flag(r.backfilled),
          in_sample: flag(r.in_sample),
          created_at: createdAt,
        }));
        const result = await trx
          .insertInto('forecasts')
          .values(values)
          .onConflict((oc) => oc.columns(['symbol', 'issue_date', 'horizon', 'model_version']).doNothing())
          .executeTakeFirst();
        inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
      }
      return inserted;
    });
  }

  /** Unscored forecasts of a symbol whose target day is on or before `upTo`, oldest target first. */
  async unscored(symbol: string, upTo: string): Promise<StoredForecast[]> {
    const rows = await this.db
      .selectFrom('forecasts')
      .selectAll()
      .where('symbol', '=', symbol)
      .where('scored_at', 'is', null)
      .where('target_date', '<=', upTo)
      .orderBy('target_date')
      .orderBy('id')
      .execute();
    return rows.map(toStored);
  }

  /** Symbols with unscored forecasts. */
  async symbolsAwaitingActuals(): Promise<string[]> {
    const rows = await this.db.selectFrom('forecasts').select('symbol').distinct().where('scored_at', 'is', null).execute();
    return rows.map((r) => r.symbol).sort();
  }

  /** Stores outcomes in one transaction. `rescore` overwrites an existing outcome (a client pushing a corrected close). */
  async saveOutcomes(outcomes: readonly { id: number; outcome: Outcome }[], now: Date = new Date(), rescore = false): Promise<number> {
    if (outcomes.length === 0) return 0;
    const scoredAt = now.toISOString();
    return this.db.transaction().execute(async (trx) => {
      let updated = 0;
      for (const { id, outcome } of outcomes) {
        let query = trx
          .updateTable('forecasts')
          .set({
            actual: outcome.actual,
            abs_error: outcome.abs_error,
            pct_error: outcome.pct_error,
            naive_abs_error: outcome.naive_abs_error,
            direction_correct: flag(outcome.direction_correct),
            actual_up: flag(outcome.actual_up),
            inside_80: flag(outcome.inside_80),
            inside_95: flag(outcome.inside_95),
            scored_at: scoredAt,
          })
          .where('id', '=', id);
        if (!rescore) query = query.where('scored_at', 'is', null);
        const result = await query.executeTakeFirst();
        updated += Number(result.numUpdatedRows);
      }
      return updated;
    });
  }

  /** Scores every forecast of `symbol` for `targetDate` with a pushed close (re-scoring any earlier outcome). */
  async setActual(symbol: string, targetDate: string, actual: number, now: Date = new Date()): Promise<number> {
    const rows = await this.db.selectFrom('forecasts').selectAll().where('symbol', '=', symbol).where('target_date', '=', targetDate).execute();
    return this.saveOutcomes(
      rows.map((row) => ({ id: row.id, outcome: scoreForecast(row, actual) })),
      now,
      true,
    );
  }

  async query(q: ForecastQuery): Promise<StoredForecast[]> {
    let query = this.db.selectFrom('forecasts').selectAll();
    if (q.symbols && q.symbols.length > 0) query = query.where('symbol', 'in', [...q.symbols]);
    if (q.from) query = query.where('issue_date', '>=', q.from);
    if (q.to) query = query.where('issue_date', '<=', q.to);
    if (q.targetFrom) query = query.where('target_date', '>=', q.targetFrom);
    if (q.targetTo) query = query.where('target_date', '<=', q.targetTo);
    if (q.matured !== undefined) query = query.where('scored_at', q.matured ? 'is not' : 'is', null);
    if (!q.includeInSample) query = query.where('in_sample', '=', 0);
    if (q.backfilled !== undefined) query = query.where('backfilled', '=', flag(q.backfilled));
    if (q.horizons && q.horizons.length > 0) query = query.where('horizon', 'in', [...q.horizons]);
    const dir = q.orderDir ?? 'desc';
    switch (q.orderBy ?? 'date') {
      case 'date':
        query = query.orderBy('issue_date', dir).orderBy('symbol').orderBy('horizon');
        break;
      case 'accuracy':
        // Most accurate first for "desc": unscored rows (no error yet) always last.
        query = query
          .orderBy((eb) => eb.case().when('pct_error', 'is', null).then(1).else(0).end())
          .orderBy('pct_error', dir === 'desc' ? 'asc' : 'desc')
          .orderBy('id');
        break;
      case 'confidence':
        query = query
          .orderBy((eb) => eb.case().when('confidence', 'is', null).then(1).else(0).end())
          .orderBy('confidence', dir)
          .orderBy('id');
        break;
    }
    if (q.limit !== undefined) query = query.limit(q.limit);
    if (q.offset !== undefined && q.offset > 0) query = query.offset(q.offset);
    const rows = await query.execute();
    return rows.map(toStored);
  }

  async symbols(): Promise<string[]> {
    const rows = await this.db.selectFrom('forecasts').select('symbol').distinct().execute();
    return rows.map((r) => r.symbol).sort();
  }

  async startRun(run: RunStart, now: Date = new Date()): Promise<number> {
    const row = await this.db
      .insertInto('daily_runs')
      .values({
        ...run,
        status: 'running',
        symbols_succeeded: '[]',
        symbols_failed: '[]',
        successful_predictions: 0,
        failed_predictions: 0,
        recorded_forecasts: 0,
        scored_forecasts: 0,
        created_at: now.toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async finishRun(id: number, end: RunEnd, now: Date = new Date()): Promise<DailyRun> {
    await this.db
      .updateTable('daily_runs')
      .set({
        ...end,
        symbols_succeeded: JSON.stringify(end.symbols_succeeded),
        symbols_failed: JSON.stringify(end.symbols_failed),
        completed_at: now.toISOString(),
      })
      .where('id', '=', id)
      .execute();
    return this.db.selectFrom('daily_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** The most recently started run, optionally of some kinds only. */
  async lastRun(executionTypes?: readonly string[], statuses?: readonly RunStatus[]): Promise<DailyRun | undefined> {
    let query = this.db.selectFrom('daily_runs').selectAll();
    if (executionTypes) query = query.where('execution_type', 'in', [...executionTypes]);
    if (statuses) query = query.where('status', 'in', [...statuses]);
    return query.orderBy('id', 'desc').limit(1).executeTakeFirst();
  }

  async completedRun(executionDate: string, executionTypes: readonly string[]): Promise<DailyRun | undefined> {
    return this.db
      .selectFrom('daily_runs')
      .selectAll()
      .where('execution_date', '=', executionDate)
      .where('execution_type', 'in', [...executionTypes])
      .where('status', 'in', ['completed', 'skipped'])
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * Takes the run lock of `key` for `owner` until `expiresAt`: true for exactly one caller across processes and
   * replicas sharing the database. An expired lock (its holder died mid-run) can be taken over.
   */
  async tryLock(key: string, owner: string, expiresAt: Date, now: Date = new Date()): Promise<boolean> {
    const inserted = await this.db
      .insertInto('run_locks')
      .values({ execution_date: key, owner, expires_at: expiresAt.toISOString() })
      .onConflict((oc) => oc.column('execution_date').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return true;
    const taken = await this.db
      .updateTable('run_locks')
      .set({ owner, expires_at: expiresAt.toISOString() })
      .where('execution_date', '=', key)
      .where('expires_at', '<', now.toISOString())
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  async releaseLock(key: string, owner: string): Promise<void> {
    await this.db.deleteFrom('run_locks').where('execution_date', '=', key).where('owner', '=', owner).execute();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';

/** The Redis pub/sub channel on which a worker announces each model version it saved. */
export const MODEL_CHANNEL = 'stock-prediction:models';

export interface ModelPublication {
  readonly key: string;
  readonly version: string;
  /** Symbols the version was trained on (their memoized bars are stale once it serves). */
  readonly symbols: readonly string[];
}

function parsePublication(text: string): ModelPublication | undefined {
  try {
    const value = JSON.parse(text) as Partial<ModelPublication>;
    if (typeof value.key !== 'string' || typeof value.version !== 'string' || !Array.isArray(value.symbols)) return undefined;
    return { key: value.key, version: value.version, symbols: value.symbols.filter((s): s is string => typeof s === 'string') };
  } catch {
    return undefined;
  }
}

/** Announces a saved version to every replica; resolves with how many subscribers heard it. */
export async function publishModel(client: Redis, publication: ModelPublication): Promise<number> {
  return client.publish(MODEL_CHANNEL, JSON.stringify(publication));
}

/**
 * Listens for published versions; ioredis re-subscribes by itself after a reconnect. A message lost while Redis was
 * away is caught up by the model watch (MODEL_WATCH_INTERVAL), which stays on as the fallback.
 */
export function subscribeModels(url: string, logger: Logger, onPublished: (publication: ModelPublication) => void): { close(): Promise<void> } {
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2000) });
  client.on('error', (error: Error) => logger.debug({ err: error }, 'model channel connection error'));
  client.subscribe(MODEL_CHANNEL).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'model channel subscription failed; relying on the model watch'));
  client.on('message', (_channel: string, text: string) => {
    const publication = parsePublication(text);
    if (publication === undefined) logger.warn({ message: text.slice(0, 200) }, 'ignored a malformed model publication');
    else onPublished(publication);
  });
  return {
    close: async () => {
      client.disconnect();
    },
  };
}

import { h } from './dom.js';
import { dateTime, scalar } from './format.js';
import type { HealthResponse, StatsResponse } from './types.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const label = (key: string) => key.replaceAll('_', ' ');

/** Any nested object from the API as nested definition lists: shows what the service reports, nothing added. */
export function renderTree(value: Record<string, unknown>, depth = 0): HTMLElement {
  return h(
    'dl',
    { class: depth === 0 ? 'tree' : 'tree nested' },
    ...Object.entries(value).flatMap(([key, child]) => [
      h('dt', {}, label(key)),
      h('dd', { 'data-key': key }, isRecord(child) && depth < 3 ? renderTree(child, depth + 1) : scalar(child)),
    ]),
  );
}

export function renderHealth(health: HealthResponse): HTMLElement {
  return h(
    'div',
    {},
    h('p', {}, 'Status: ', h('span', { class: `health health-${health.status}`, 'data-testid': 'health-status' }, health.status)),
    h(
      'p',
      { class: 'explain' },
      `Version ${scalar(health.version)}, up ${scalar(health.uptime_seconds)} s, checked ${dateTime(health.timestamp)}.`,
    ),
    health.services === undefined ? null : renderTree(health.services),
  );
}

/** Cache figures first (what the brief asks for), then the rest of the stats document. */
export function renderStats(stats: StatsResponse): HTMLElement {
  const { cache, ...rest } = stats;
  return h(
    'div',
    {},
    h('h3', {}, 'Cache'),
    isRecord(cache) ? h('div', { 'data-testid': 'cache-stats' }, renderTree(cache)) : h('p', { class: 'empty' }, 'The service reported no cache statistics.'),
    Object.keys(rest).length > 0 ? h('details', {}, h('summary', {}, 'Models and system'), renderTree(rest)) : null,
  );
}

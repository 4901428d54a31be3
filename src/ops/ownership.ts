import path from 'node:path';
import type { DataLayout } from '../config/layout.js';

/** The user a container of the compose stack runs as, and so the owner of the data it writes. */
export interface Account {
  readonly uid: number;
  readonly gid: number;
}

export type ServiceName = 'app' | 'redis' | 'prometheus' | 'grafana' | 'nginx';

/**
 * Default uids of the images in docker-compose-persistent.yml: the service image's own user
 * (docker/Dockerfile, uid 1001), redis:7-alpine's `redis` (999), prom/prometheus' `nobody`
 * (65534), grafana/grafana's `grafana` (472, group root) and nginx-unprivileged's `nginx` (101).
 * Compose runs each container as ${<SERVICE>_UID}:${<SERVICE>_GID} from .env, so a non-root
 * setup (`--no-chown`) simply maps every service to the operator's own uid instead.
 */
export const DEFAULT_ACCOUNTS: Readonly<Record<ServiceName, Account>> = {
  app: { uid: 1001, gid: 1001 },
  redis: { uid: 999, gid: 999 },
  prometheus: { uid: 65534, gid: 65534 },
  grafana: { uid: 472, gid: 0 },
  nginx: { uid: 101, gid: 101 },
};

export const SERVICE_NAMES = Object.keys(DEFAULT_ACCOUNTS) as ServiceName[];

/** Which service owns which part of the tree; everything not listed belongs to the app. */
export function ownedTrees(layout: DataLayout): { readonly dir: string; readonly service: ServiceName }[] {
  return [
    { dir: layout.root, service: 'app' },
    { dir: layout.redis, service: 'redis' },
    { dir: layout.prometheus, service: 'prometheus' },
    { dir: path.join(layout.logs, 'prometheus'), service: 'prometheus' },
    { dir: layout.grafana, service: 'grafana' },
    { dir: path.join(layout.logs, 'grafana'), service: 'grafana' },
    { dir: layout.frontend, service: 'nginx' },
  ];
}

/** The service owning `target`: the deepest owned tree that contains it. */
export function ownerOf(layout: DataLayout, target: string): ServiceName {
  let best: { dir: string; service: ServiceName } | undefined;
  for (const tree of ownedTrees(layout)) {
    const rel = path.relative(tree.dir, target);
    const inside = rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
    if (inside && (best === undefined || tree.dir.length > best.dir.length)) best = tree;
  }
  return best?.service ?? 'app';
}

/** Environment variable names compose reads for a service's uid and gid. */
export function accountVariables(service: ServiceName): { readonly uid: string; readonly gid: string } {
  const prefix = service.toUpperCase();
  return { uid: `${prefix}_UID`, gid: `${prefix}_GID` };
}

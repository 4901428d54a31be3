import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * Helmet's security headers for the pages a browser renders — the dashboard (and its assets) and /docs — with a
 * Content-Security-Policy that allows only this origin's scripts, styles and API (the dashboard is bundled, with
 * no inline script or style). Registered inside the scopes of those routes only: JSON API answers do not pay for
 * a dozen headers a browser never applies to them.
 *
 * No upgrade-insecure-requests: the compose stack serves plain HTTP on port 8080, where it would send the
 * browser to an https:// that does not exist.
 */
const directives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

export const securityHeaders: FastifyHelmetOptions = {
  global: true,
  contentSecurityPolicy: { useDefaults: false, directives },
  // Agrees with frame-ancestors 'none' for browsers that only read X-Frame-Options.
  frameguard: { action: 'deny' },
};

/** Swagger UI sets inline styles from its script (no inline script), so /docs also allows inline styles. */
export const docsSecurityHeaders: FastifyHelmetOptions = {
  ...securityHeaders,
  contentSecurityPolicy: { useDefaults: false, directives: { ...directives, 'style-src': ["'self'", "'unsafe-inline'"] } },
};

#!/usr/bin/env bash
# Installs the system packages the test suite drives for real: redis-server, Prometheus (promtool),
# docker-compose (compose file validation), Chromium (browser tests) and PostgreSQL (the tracking store's
# second database; the tests start their own cluster). Runs before `npm test`;
# does nothing when they are all present. Debian/Ubuntu; installing needs root.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these system packages: ${need[*]}. Install them (Debian: sudo apt-get install ${need[*]}) and run again." >&2
  exit 1
fi
echo "installing: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"

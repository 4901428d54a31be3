#!/usr/bin/env bash
# Installs the system packages the test suite drives for real: redis-server, Prometheus (promtool),
# docker-compose (compose file validation), Chromium (browser tests), PostgreSQL (the tracking store's
# second database; the tests start their own cluster), nginx (the proxy cache in front of the service; the
# tests start their own) and Debian Python's (/usr/bin/python3) h5py, numpy, scikit-learn and joblib (the
# Keras-import tests write real HDF5 files and scaler pickles with them). Runs before `npm test`;
# does nothing when they are all present. Debian/Ubuntu; installing needs root.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
for module in h5py:python3-h5py numpy:python3-numpy sklearn:python3-sklearn joblib:python3-joblib; do
  /usr/bin/python3 -c "import ${module%%:*}" >/dev/null 2>&1 || need+=("${module#*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these system packages: ${need[*]}. Install them (Debian: sudo apt-get install ${need[*]}) and run again." >&2
  exit 1
fi
echo "installing: ${need[*]}"
apt-get update -qq
# The tests never use a packaged nginx service (Debian may start one on port 80): they start their own on a free port.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"

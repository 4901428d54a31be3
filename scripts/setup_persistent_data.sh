#!/usr/bin/env bash
# Creates or completes persistent_data/ (the seed's tree), config/redis.conf, config/ml_config.json,
# persistent_data/README.md, the operator scripts (backup/restore/monitor/cleanup) and, beside it,
# the compose .env with random secrets. Idempotent: a second run changes nothing.
#
#   sudo scripts/setup_persistent_data.sh [DIR]         # as root: chown each directory to its container's uid
#   scripts/setup_persistent_data.sh [DIR] --no-chown   # without root: every container runs as your uid (.env)
#
# DIR defaults to $PERSISTENT_DATA_PATH, else ./persistent_data of this checkout. Other options:
# --compose-env FILE (default: DIR/../.env, where docker-compose looks for it). REDIS_PASSWORD in the
# environment overrides the generated one.
set -euo pipefail
# shellcheck source=lib/ops-cli.sh
source "$(dirname -- "$0")/lib/ops-cli.sh"
DATA=${PERSISTENT_DATA_PATH:-$ROOT/persistent_data}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  DATA=$1
  shift
fi
exec node "$CLI" setup --data "$DATA" "$@"

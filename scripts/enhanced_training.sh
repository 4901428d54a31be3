#!/usr/bin/env bash
# Retrains the models that need it, after backing up the current models:
# a symbol is retrained when it has no model, its model is older than --max-age-days, or its data
# moved on (at least --min-new-bars bars after the model's data range). Defaults come from
# persistent_data/config/ml_config.json ("retraining"); the symbols from there, else every symbol
# with data or a model. Training runs through the models CLI (npm run models -- train ...).
#
#   scripts/enhanced_training.sh [--force] [--symbols NVDA,TSLA] [--max-age-days N] [--min-new-bars N] [--dry-run]
#
# Weekly from cron, for example:  0 2 * * 0  /path/to/repo/scripts/enhanced_training.sh >> /var/log/retrain.log 2>&1
set -euo pipefail
# shellcheck source=lib/ops-cli.sh
source "$(dirname -- "$0")/lib/ops-cli.sh"
exec node "$CLI" retrain --data "${PERSISTENT_DATA_PATH:-$ROOT/persistent_data}" "$@"

#!/usr/bin/env bash
# A check of a calibration change on history the shipped models' test split never reaches: trains every
# sample symbol's model and the global model (`models train --all`, the shipped configuration unless
# TRAIN_* variables or extra flags say otherwise) on data/sample/ bars dated before DATE only, into a
# temporary PERSISTENT_DATA_PATH, then prints `models evaluate --all` for them: each model's own 70/15/15
# split of that history, so its test split ends the day before DATE. Nothing outside the temporary folder
# is touched. Usage: scripts/check-before-test-split.sh DATE [training flags...]
#   e.g. scripts/check-before-test-split.sh 2022-10-05   (the shipped models' test split starts then)
set -euo pipefail
cd "$(dirname "$0")/.."
before="${1:?usage: $0 DATE [training flags...]}"
shift
[[ "$before" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || { echo "DATE must be YYYY-MM-DD, got $before" >&2; exit 2; }
# MODELS_CLI lets a caller use an already compiled CLI; by default the project is built first.
if [ -z "${MODELS_CLI:-}" ]; then
  npm run -s build
  MODELS_CLI=dist/src/cli/models.js
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/before-test-split.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export PERSISTENT_DATA_PATH="$work/persistent_data"
mkdir -p "$PERSISTENT_DATA_PATH/stock_data/historical"
for csv in data/sample/*.csv; do
  # header, then the rows whose date (first column, ISO) sorts before DATE
  awk -F, -v before="$before" 'NR == 1 || $1 < before' "$csv" > "$PERSISTENT_DATA_PATH/stock_data/historical/$(basename "$csv")"
done
started=$(date +%s)
# the training log is only shown when training fails (the temporary folder, log included, is removed on exit)
node "$MODELS_CLI" train --all "$@" > "$work/train.log" 2>&1 || { cat "$work/train.log" >&2; exit 1; }
echo "train --all on bars before $before took $(( $(date +%s) - started ))s"
node "$MODELS_CLI" evaluate --all

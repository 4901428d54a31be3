# Sourced by the operator scripts: sets ROOT (this checkout) and CLI (the compiled ops CLI), building the
# project first when it has not been built yet.
ROOT=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[1]}")/.." && pwd)
CLI=${STOCK_PREDICTION_OPS_CLI:-$ROOT/dist/src/cli/ops.js}
if [ ! -f "$CLI" ]; then
  echo "building the project first (npm run build)..." >&2
  (cd "$ROOT" && npm run -s build)
fi

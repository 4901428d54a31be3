#!/usr/bin/env bash
# The seed's model management entry point, kept for operators' scripts: a thin wrapper around
# `npm run models` (src/cli/models.ts). Example: scripts/manage_ml_models.sh train NVDA
set -euo pipefail
cd "$(dirname "$0")/.."
exec npm run -s models -- "$@"

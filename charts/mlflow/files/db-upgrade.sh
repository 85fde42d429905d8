#!/bin/sh
# Init container: bring the tracking database schema to this MLflow version before any server starts.
set -eu
. "$SCRIPTS_DIR/env.sh"
exec mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI"

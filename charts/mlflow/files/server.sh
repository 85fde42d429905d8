#!/bin/sh
# MLflow tracking server with the basic-auth app, proxied artifacts and TLS, configured from the environment.
set -eu
. "$SCRIPTS_DIR/env.sh"
umask 077
cat > "$MLFLOW_AUTH_CONFIG_PATH" <<INI
[mlflow]
default_permission = ${AUTH_DEFAULT_PERMISSION}
database_uri = $(db_uri "$AUTH_DB_NAME")
admin_username = ${MLFLOW_AUTH_ADMIN_USERNAME}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
INI
mkdir -p "$METRICS_DIR"
# HOST: every interface in the pod; the smoke test binds loopback only.
exec mlflow server --host "${HOST:-0.0.0.0}" --port "$PORT" --workers "$WORKERS" --app-name basic-auth \
  --serve-artifacts --artifacts-destination "s3://${ARTIFACT_BUCKET}" \
  --allowed-hosts "$ALLOWED_HOSTS" --expose-prometheus "$METRICS_DIR" \
  --uvicorn-opts "--ssl-certfile ${TLS_DIR}/tls.crt --ssl-keyfile ${TLS_DIR}/tls.key"

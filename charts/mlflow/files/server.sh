#!/bin/sh
# MLflow tracking server with the basic-auth app, proxied artifacts and TLS, configured from the environment.
# uvicorn reads its certificate at start only: when the kubelet updates the mounted certificate (cert-manager
# renews it), the server is restarted in place to serve the new one (checked every TLS_CHECK_SECONDS).
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
# Service users (users.py) before the server answers anyone.
if [ -n "${USERS_DIR:-}" ]; then python "$SCRIPTS_DIR/users.py"; fi

serve() {
  # HOST: every interface in the pod; the smoke test binds loopback only.
  mlflow server --host "${HOST:-0.0.0.0}" --port "$PORT" --workers "$WORKERS" --app-name basic-auth \
    --serve-artifacts --artifacts-destination "s3://${ARTIFACT_BUCKET}" \
    --allowed-hosts "$ALLOWED_HOSTS" --expose-prometheus "$METRICS_DIR" \
    --uvicorn-opts "--ssl-certfile ${TLS_DIR}/tls.crt --ssl-keyfile ${TLS_DIR}/tls.key" &
  server=$!
}

stop() { kill -TERM "$server" 2>/dev/null || true; wait "$server" || true; }
trap 'stop; exit 0' TERM INT
serving=$(cksum < "$TLS_DIR/tls.crt")
serve
while kill -0 "$server" 2>/dev/null; do
  sleep "${TLS_CHECK_SECONDS:-60}" & wait $! || true
  if [ "$(cksum < "$TLS_DIR/tls.crt")" != "$serving" ]; then
    echo "mlflow: the certificate in $TLS_DIR changed; restarting the server to serve it" >&2
    stop
    serving=$(cksum < "$TLS_DIR/tls.crt")
    serve
  fi
done
wait "$server"

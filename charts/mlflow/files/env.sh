# Sourced by db-upgrade.sh and server.sh: database URIs from the container's environment.
# The password reaches libpq through its environment (PGPASSWORD), never a command line or a URI.
: "${DB_USER:?}" "${DB_PASSWORD:?}" "${DB_HOST:?}" "${DB_PORT:?}" "${DB_NAME:?}" "${DB_SSLMODE:?}" "${CA_FILE:?}"
PGPASSWORD=$DB_PASSWORD
export PGPASSWORD

db_uri() {
  printf 'postgresql+psycopg2://%s@%s:%s/%s?sslmode=%s&sslrootcert=%s' \
    "$DB_USER" "$DB_HOST" "$DB_PORT" "$1" "$DB_SSLMODE" "$CA_FILE"
}

MLFLOW_BACKEND_STORE_URI=$(db_uri "$DB_NAME")
export MLFLOW_BACKEND_STORE_URI

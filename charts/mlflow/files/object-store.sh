#!/bin/sh
# Before MLflow starts (init container, MinIO client image): the artifact bucket, and one read-only MinIO user per
# mounted reader Secret (READERS_DIR/<secret>/accessKey, secretKey) under the policy READ_POLICY_FILE: what only
# downloads, the model servers, never holds the root credential. Credentials reach mc through its environment
# (MC_HOST_<alias>) and its standard input, never its command line. Every step is an upsert: safe on each start.
set -eu
export MC_HOST_store="${MLFLOW_S3_ENDPOINT_URL%%://*}://${AWS_ACCESS_KEY_ID}:${AWS_SECRET_ACCESS_KEY}@${MLFLOW_S3_ENDPOINT_URL#*://}"
mc() { command mc --config-dir /tmp/mc "$@"; }

mc mb --ignore-existing "store/$ARTIFACT_BUCKET"
[ -n "${READERS_DIR:-}" ] && [ -d "$READERS_DIR" ] || exit 0
# Shell built-ins only (the client image has little else): the policy is named after its file.
policy=${READ_POLICY_FILE##*/}
policy=${policy%.json}
mc admin policy create store "$policy" "$READ_POLICY_FILE"
for reader in "$READERS_DIR"/*/; do
  IFS= read -r key < "${reader}accessKey" || [ -n "$key" ]
  # With the access key only on its command line, mc reads the secret key from its standard input.
  mc admin user add store "$key" < "${reader}secretKey"
  # A second attach fails with "already in effect": that is the state wanted.
  if ! out=$(mc admin policy attach store "$policy" --user "$key" 2>&1); then
    case "$out" in
      *"already in effect"*) ;;
      *) printf '%s\n' "$out" >&2; exit 1 ;;
    esac
  fi
done

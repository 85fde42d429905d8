"""MLflow users that are not admins, from the mounted Secrets (a directory each, files username and password) in
USERS_DIR: made when missing, their password set when it differs. An admin of that name is refused, never demoted.
Runs before the server (server.sh), against the auth database of MLFLOW_AUTH_CONFIG_PATH."""

import os
import sys
from pathlib import Path

from mlflow.server.auth.config import read_auth_config
from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore


def main():
    store = SqlAlchemyStore()
    store.init_db(read_auth_config().database_uri)
    # The kubelet's own entries (..data, ..<timestamp>) are not Secrets.
    for secret in sorted(p for p in Path(os.environ["USERS_DIR"]).iterdir() if p.is_dir() and not p.name.startswith("..")):
        username = (secret / "username").read_text().strip()
        password = (secret / "password").read_text()
        if not store.has_user(username):
            store.create_user(username, password)
            print(f"mlflow users: made {username} ({secret.name})")
        elif store.get_user(username).is_admin:
            sys.exit(f"mlflow users: {username} ({secret.name}) is an admin; a service user must not be one")
        elif not store.authenticate_user(username, password):
            store.update_user(username, password=password)
            print(f"mlflow users: set the password of {username} ({secret.name})")


if __name__ == "__main__":
    main()

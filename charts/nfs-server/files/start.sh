#!/bin/sh
# NFS-Ganesha in the foreground with the rendered configuration. The export's top directory belongs to the anonymous
# user, so that root on a node (squashed to it) can create each claim's directory there (csi-driver-nfs does).
set -eu
chown "$ANONYMOUS_ID:$ANONYMOUS_ID" "$EXPORT_DIR"
mkdir -p "$RECOVERY_DIR"
exec ganesha.nfsd -F -L /dev/stdout -N NIV_EVENT -f "$CONFIG_FILE" -p "$RECOVERY_DIR/ganesha.pid"

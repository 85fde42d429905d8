#!/bin/sh
# Launcher entrypoint: writes a kubeconfig for the pod's ServiceAccount (TorchX's Kubernetes scheduler and vcctl
# read only kubeconfig files), then runs the given command, e.g. python submit.py dist.ddp ... (torchx run with what the platform adds to the pods).
# The token is referenced as a file (tokenFile), so the kubelet's rotation keeps working.
set -eu
sa=${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
host=${KUBERNETES_SERVICE_HOST:?KUBERNETES_SERVICE_HOST is unset: not running in a pod}
port=${KUBERNETES_SERVICE_PORT:-443}
case $host in *:*) host="[$host]" ;; esac
namespace=$(cat "$sa/namespace")
config=${KUBECONFIG:-$HOME/.kube/config}
mkdir -p "$(dirname "$config")"
umask 077
cat > "$config" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: in-cluster
    cluster: {server: "https://$host:$port", certificate-authority: "$sa/ca.crt"}
users:
  - name: service-account
    user: {tokenFile: "$sa/token"}
contexts:
  - name: in-cluster
    context: {cluster: in-cluster, user: service-account, namespace: "$namespace"}
current-context: in-cluster
KUBECONFIG
export KUBECONFIG="$config"
exec "$@"

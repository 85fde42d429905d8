#!/usr/bin/env bash
# Builds the simulated cluster's binaries from Go modules, once, into a cache.
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd                                                            (go.etcd.io/etcd/server/v3)
#   kwok, kwokctl                                                   (sigs.k8s.io/kwok)
#   helm                                                            (helm.sh/helm/v3)
# A binary already in the cache is never rebuilt; Go's own build cache makes a rebuild after a
# version bump incremental. Prints "changed" on stdout when anything was built (for Ansible).
set -euo pipefail

: "${SIM_HOME:=${XDG_CACHE_HOME:-$HOME/.cache}/mlops-platform/sim}"
: "${KUBE_VERSION:?set by the sim_cluster role}" "${ETCD_VERSION:?}" "${KWOK_VERSION:?}" "${HELM_VERSION:?}"

bin_dir="$SIM_HOME/bin"
src_dir="$SIM_HOME/src"
mkdir -p "$bin_dir" "$src_dir"
export GOFLAGS="${GOFLAGS:-} -mod=mod -trimpath"
export CGO_ENABLED=0
built=0

log() { printf '[build-binaries] %s\n' "$*" >&2; }

# have NAME VERSION: true when bin/NAME was built at VERSION.
have() { [[ -x "$bin_dir/$1" && "$(cat "$bin_dir/.$1.version" 2>/dev/null)" == "$2" ]]; }
stamp() { printf '%s\n' "$2" >"$bin_dir/.$1.version"; built=1; }

# module DIR MODULE_LINE...: writes a consumer go.mod in src/DIR.
module() {
  local dir="$src_dir/$1"; shift
  mkdir -p "$dir"
  printf '%s\n' "module mlops.platform/sim/build" "" "go 1.24" "" "$@" >"$dir/go.mod"
  printf '%s' "$dir"
}

build_kubernetes() {
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubectl) need=0 n
  for n in "${names[@]}"; do have "$n" "$KUBE_VERSION" || need=1; done
  ((need)) || return 0
  log "kubernetes $KUBE_VERSION"
  local minor="${KUBE_VERSION#v1.}" staging=(
    api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
  local lines=("require k8s.io/kubernetes $KUBE_VERSION" "")
  for n in "${staging[@]}"; do lines+=("replace k8s.io/$n => k8s.io/$n v0.$minor"); done
  local dir; dir=$(module "kubernetes-$KUBE_VERSION" "${lines[@]}")
  local v=k8s.io/component-base/version cv=k8s.io/client-go/pkg/version
  local major=1 kminor="${minor%%.*}" ld
  ld="-s -w"
  for p in $v $cv; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$kminor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$dir" && go get "k8s.io/kubernetes@$KUBE_VERSION" >&2 &&
    go build -ldflags "$ld" -o "$bin_dir/" $(printf 'k8s.io/kubernetes/cmd/%s ' "${names[@]}") >&2)
  for n in "${names[@]}"; do stamp "$n" "$KUBE_VERSION"; done
}

build_etcd() {
  have etcd "$ETCD_VERSION" && return 0
  log "etcd $ETCD_VERSION"
  local dir; dir=$(module "etcd-$ETCD_VERSION" "require go.etcd.io/etcd/server/v3 $ETCD_VERSION")
  cat >"$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go mod tidy >&2 && go build -ldflags "-s -w" -o "$bin_dir/etcd" . >&2)
  stamp etcd "$ETCD_VERSION"
}

build_kwok() {
  have kwok "$KWOK_VERSION" && have kwokctl "$KWOK_VERSION" && return 0
  log "kwok $KWOK_VERSION"
  local dir; dir=$(module "kwok-$KWOK_VERSION" "require sigs.k8s.io/kwok $KWOK_VERSION")
  local ld="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  (cd "$dir" && go get "sigs.k8s.io/kwok@$KWOK_VERSION" >&2 &&
    go build -ldflags "$ld" -o "$bin_dir/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl >&2)
  stamp kwok "$KWOK_VERSION"; stamp kwokctl "$KWOK_VERSION"
}

build_helm() {
  # helm's default capabilities (template, lint) must be the cluster's Kubernetes minor, not helm's 1.20 default.
  local recipe="$HELM_VERSION+k8s-$KUBE_VERSION" kminor="${KUBE_VERSION#v1.}"
  kminor="${kminor%%.*}"
  have helm "$recipe" && return 0
  log "helm $HELM_VERSION"
  local dir; dir=$(module "helm-$HELM_VERSION" "require helm.sh/helm/v3 $HELM_VERSION")
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" p
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$kminor"
  done
  (cd "$dir" && go get "helm.sh/helm/v3@$HELM_VERSION" >&2 &&
    go build -ldflags "$ld" -o "$bin_dir/helm" helm.sh/helm/v3/cmd/helm >&2)
  stamp helm "$recipe"
}

for target in ${SIM_BUILD_TARGETS:-kubernetes etcd kwok helm}; do "build_$target"; done
((built)) && echo changed || echo ok

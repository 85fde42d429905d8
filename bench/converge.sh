#!/usr/bin/env bash
# Times the platform lifecycle on a fresh simulated cluster of its own (mlops-bench) and prints a table:
# binary build (cached after the first run), cluster start, converge, idempotent re-run, teardown (purge), delete.
# Usage: bench/converge.sh   (after scripts/bootstrap; needs ../shared/crds or MLOPS_CRDS_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
export MLOPS_CRDS_DIR="${MLOPS_CRDS_DIR:-$(cd .. && pwd)/shared/crds}"
export MLOPS_KUBECONFIG="${TMPDIR:-/tmp}/mlops-bench.kubeconfig"
vars=(-e sim_cluster_name=mlops-bench -e "platform_kubeconfig=$MLOPS_KUBECONFIG")
purge=(-e platform_purge=true -e platform_purge_confirm=yes-delete-platform-data)
rows=()

# timed LABEL CMD...: runs CMD, records wall seconds and the recap's changed count.
timed() {
  local label=$1 start end out changed; shift
  start=$(date +%s.%N)
  out=$("$@" 2>&1) || { printf '%s\n' "$out" | tail -30; echo "bench: '$label' failed" >&2; exit 1; }
  end=$(date +%s.%N)
  changed=$(printf '%s\n' "$out" | awk -F'changed=' '/changed=/ {split($2, a, " "); n += a[1]} END {print n + 0}')
  rows+=("$(awk -v l="$label" -v s="$start" -v e="$end" -v c="$changed" 'BEGIN {printf "%-38s %8.1f s   changed=%s", l, e - s, c}')")
}

ansible-playbook playbooks/cluster_delete.yml "${vars[@]}" >/dev/null
timed "build binaries (cache as found)" ansible-playbook playbooks/cluster.yml "${vars[@]}" --tags sim_cluster_preflight,sim_cluster_build
timed "start cluster (warm, binaries cached)" ansible-playbook playbooks/cluster.yml "${vars[@]}"
timed "converge site.yml (cold)" ansible-playbook playbooks/site.yml "${vars[@]}"
timed "converge site.yml (idempotent re-run)" ansible-playbook playbooks/site.yml "${vars[@]}"
timed "teardown.yml (purge)" ansible-playbook playbooks/teardown.yml "${vars[@]}" "${purge[@]}"
timed "cluster_delete.yml" ansible-playbook playbooks/cluster_delete.yml "${vars[@]}"

printf '\n%-38s %10s   %s\n' "step" "wall" "recap"
printf '%s\n' "${rows[@]}"
printf '\n(%s cores, %s; %s)\n' "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$(date -u +%FT%TZ)"

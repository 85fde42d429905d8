#!/usr/bin/env bash
# Times the platform lifecycle on a fresh simulated cluster of its own (mlops-bench) and prints a table:
# binary build (cached after the first run), cluster start, converge, idempotent re-run, teardown (purge), delete.
# Then where the time of each playbook went, per role and per module (bench/profile.py on the JSON report).
# Usage: bench/converge.sh   (after scripts/bootstrap; needs ../shared/crds or MLOPS_CRDS_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
source ./scripts/upstream-dirs
export MLOPS_KUBECONFIG="${TMPDIR:-/tmp}/mlops-bench.kubeconfig"
vars=(-e sim_cluster_name=mlops-bench -e "platform_kubeconfig=$MLOPS_KUBECONFIG")
purge=(-e platform_purge=true -e platform_purge_confirm=yes-delete-platform-data)
rows=() labels=() walls=()
reports=$(mktemp -d)

# timed LABEL CMD...: runs CMD (JSON report kept for the profile), records wall seconds and the changed count.
timed() {
  local label=$1 start end report changed; shift
  report="$reports/${#rows[@]}.json"
  start=$(date +%s.%N)
  ANSIBLE_STDOUT_CALLBACK=ansible.posix.json "$@" >"$report" 2>&1 ||
    { tail -c 3000 "$report"; echo "bench: '$label' failed" >&2; exit 1; }
  end=$(date +%s.%N)
  changed=$(python3 -c 'import json, sys; t = open(sys.argv[1]).read(); s = json.loads(t[t.find("{"):])["stats"]
print(sum(h["changed"] for h in s.values()))' "$report")
  labels+=("$label")
  walls+=("$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}')")
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
awk -v cold="${walls[2]}" -v again="${walls[3]}" -v down="${walls[4]}" 'BEGIN {
  printf "\nre-run / cold converge = %.0f %% (goal <= 15 %%, <= 20 s); cold %.0f s (goal <= 120); purge %.0f s (goal <= 60)\n",
    100 * again / cold, cold, down }'
for i in "${!labels[@]}"; do python3 bench/profile.py "$reports/$i.json" "${labels[$i]}"; done
# The footprint the cold converge's summary printed (requests of every platform pod against the nodes' allocatable).
python3 - "$reports/2.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
report = json.loads(text[text.find("{"):])
for play in report["plays"]:
    for task in play["tasks"]:
        if task["task"]["name"].endswith(" : Summary"):
            footprint = task["hosts"]["localhost"]["msg"]["footprint"]
            print("\nfootprint (cold converge; cores, GiB):")
            for name, entry in {**footprint["namespaces"], "total": footprint["total"]}.items():
                print(f"  {name:24} {entry['cpu']:7.2f} {entry['memory']:7.2f}")
            print(f"  of allocatable {footprint['allocatable']['cpu']} cores, {footprint['allocatable']['memory']} GiB")
PY
printf '\n(%s cores, %s; %s)\n' "$(nproc)" "$(free -g | awk '/Mem:/ {print $2 " GiB"}')" "$(date -u +%FT%TZ)"

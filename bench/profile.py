#!/usr/bin/env python3
"""Where a playbook run's time went, from its ansible.posix.json report: seconds per role and per module.

Usage: profile.py REPORT.json [LABEL]. Task durations come from the callback's start/end stamps; a task of a
loop counts once with its whole duration. Tasks outside roles count under "(playbook)".
"""
import collections
import json
import sys
from datetime import datetime


def seconds(duration):
    start, end = (datetime.fromisoformat(duration[k].replace("Z", "+00:00")) for k in ("start", "end"))
    return (end - start).total_seconds()


def main(path, label=""):
    text = open(path, encoding="utf-8").read()
    report = json.loads(text[text.find("{"):])
    by_role, by_module, count = collections.Counter(), collections.Counter(), collections.Counter()
    for play in report["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            role = name.split(" : ")[0] if " : " in name else "(playbook)"
            if "end" not in task["task"]["duration"]:  # meta tasks (end_play) have no end
                continue
            took = seconds(task["task"]["duration"])
            action = next(iter(task["hosts"].values()), {}).get("action", "?")
            by_role[role.removeprefix("mlops.platform.")] += took
            by_module[action] += took
            count[action] += 1
    total = sum(by_role.values())
    print(f"\n{label or path}: {total:.1f} s in tasks")
    print(f"  {'role':<28} {'s':>7}   {'module':<40} {'s':>7} {'tasks':>6}")
    roles, modules = by_role.most_common(), by_module.most_common()
    for i in range(max(len(roles), len(modules))):
        left = f"{roles[i][0]:<28} {roles[i][1]:7.1f}" if i < len(roles) else " " * 36
        right = f"{modules[i][0]:<40} {modules[i][1]:7.1f} {count[modules[i][0]]:6d}" if i < len(modules) else ""
        print(f"  {left}   {right}")


if __name__ == "__main__":
    main(*sys.argv[1:])

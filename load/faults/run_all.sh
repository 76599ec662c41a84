#!/usr/bin/env bash
# `make faults`: the three fault scripts in turn; their reports are gathered in
# var/load/faults.md. Exits non-zero if any failed.
set -uo pipefail
here="$(dirname "$0")"
status=0
for fault in postgres_restart redis_stop worker_kill; do
  bash "$here/$fault.sh" || status=1
done
root="$(cd "$here/../.." && pwd)"
cat "$root"/var/load/fault-{postgres_restart,redis_stop,worker_kill}.md >"$root/var/load/faults.md" 2>/dev/null
echo "fault reports: $root/var/load/faults.md"
exit "$status"

#!/usr/bin/env bash
# Fault: Redis (broker and cache) stops under load for FAULT_OUTAGE seconds (default 20),
# without saving: its queue is lost, as after a crash.
# Expect: pages and the processor webhook keep answering (sessions are cached_db and the
# cache ignores errors); notifications written meanwhile wait in the outbox and, once
# Redis is back, the notification sweep (every NOTIFICATION_SWEEP_SECONDS, 10 here)
# delivers them, each once.
set -uo pipefail
# shellcheck source=load/lib.sh
source "$(dirname "$0")/../lib.sh"
FAULT_OUTAGE="${FAULT_OUTAGE:-20}"
export NOTIFICATION_SWEEP_SECONDS="${NOTIFICATION_SWEEP_SECONDS:-10}"
trap 'redis_start >/dev/null 2>&1; stack_stop' EXIT INT TERM

fault_begin redis_stop
down=$(now)
log "stopping Redis for ${FAULT_OUTAGE}s"
redis shutdown nosave >/dev/null 2>&1
# The outbox half-way through the outage (in the background, so the outage stays as long
# as asked).
("$PY" load/check.py snapshot >"$LOAD_DIR/redis_stop-during.json") &
snapshot=$!
sleep "$FAULT_OUTAGE"
redis_start
up=$(now)
wait "$snapshot"
during="$(cat "$LOAD_DIR/redis_stop-during.json")"
log "Redis is back after $(echo "$up - $down" | bc)s"
wait "$FAULT_LOCUST"
sleep 5
{
  echo "Outbox during the outage: $during"
  "$PY" load/check.py outage --log "$LOAD_REQUEST_LOG" --down "$down" --up "$up" --expect-no-errors
  "$PY" load/check.py outbox --settle 120 --since "$down"
  "$PY" load/check.py acks
  # A queue lost with Redis: "pay now" payments wait for the hourly payments_post_due and
  # a statement asked for meanwhile is asked again by its "preparing" page; noted, not judged.
  "$PY" load/check.py work
} 2>&1 | fault_report

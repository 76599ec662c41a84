#!/usr/bin/env bash
# Fault: the Celery worker (main process and pool) is killed with SIGKILL mid-task under
# load; a new worker starts FAULT_OUTAGE seconds (default 10) later.
# Expect: the tasks it held are delivered again (acks_late; the broker gives them back
# after CELERY_VISIBILITY_TIMEOUT, 30 s here), so every notification is delivered, each
# once (claim-based delivery), every "pay now" payment is posted and every statement PDF
# asked for is rendered; pages never notice.
set -uo pipefail
# shellcheck source=load/lib.sh
source "$(dirname "$0")/../lib.sh"
FAULT_OUTAGE="${FAULT_OUTAGE:-10}"
export CELERY_VISIBILITY_TIMEOUT="${CELERY_VISIBILITY_TIMEOUT:-30}"
export NOTIFICATION_SWEEP_SECONDS="${NOTIFICATION_SWEEP_SECONDS:-10}"
trap 'stack_stop' EXIT INT TERM

fault_begin worker_kill
# Make sure the kill lands mid-task: queue statement PDFs (the longest tasks) and wait
# until the worker has taken some.
busy="$("$PY" load/check.py busy --pdfs "${FAULT_PDFS:-8}")"
before="$("$PY" load/check.py snapshot)"
down=$(now)
log "kill -9 the worker's process group ($PIDS_WORKER)"
kill -KILL -- "-$PIDS_WORKER"
wait "$PIDS_WORKER" 2>/dev/null
after="$("$PY" load/check.py snapshot)"
sleep "$FAULT_OUTAGE"
worker_start
up=$(now)
wait "$FAULT_LOCUST"
sleep 5
{
  echo "Work queued for the kill: $busy"
  echo "Just before the kill: $before"
  echo "Just after the kill:  $after"
  "$PY" load/check.py outage --log "$LOAD_REQUEST_LOG" --down "$down" --up "$up" --expect-no-errors
  "$PY" load/check.py outbox --settle 150 --since "$down"
  "$PY" load/check.py acks
  "$PY" load/check.py work --judge payments,pdfs --settle 60
} 2>&1 | fault_report

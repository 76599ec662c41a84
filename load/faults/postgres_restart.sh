#!/usr/bin/env bash
# Fault: PostgreSQL restarts under load (stopped for FAULT_OUTAGE seconds, default 8).
# Expect: requests during the outage answer the friendly 503 page (no 500, no reset),
# service is back within FAULT_RECOVERY_LIMIT seconds (10) of PostgreSQL, every processor
# event and payment the client saw acknowledged is in the database exactly once, the
# ledger caches match the rows, and the outbox delivers everything once.
set -uo pipefail
# shellcheck source=load/lib.sh
source "$(dirname "$0")/../lib.sh"
FAULT_OUTAGE="${FAULT_OUTAGE:-8}"
# Whatever happens, PostgreSQL is running again when this script ends.
trap 'postgres_ctl start >/dev/null 2>&1; postgres_up; stack_stop' EXIT INT TERM

fault_begin postgres_restart
down=$(now)
log "stopping PostgreSQL for ${FAULT_OUTAGE}s"
postgres_ctl stop
sleep "$FAULT_OUTAGE"
postgres_ctl start
postgres_up
up=$(now)
log "PostgreSQL is back after $(echo "$up - $down" | bc)s"
wait "$FAULT_LOCUST"
sleep 5  # let the worker finish what the last requests queued
{
  "$PY" load/check.py outage --log "$LOAD_REQUEST_LOG" --down "$down" --up "$up" \
    --recovery-limit "${FAULT_RECOVERY_LIMIT:-10}"
  "$PY" load/check.py acks
  "$PY" load/check.py outbox --settle 90
  "$PY" load/check.py work --judge payments --settle 30
} 2>&1 | fault_report

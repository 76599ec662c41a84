#!/usr/bin/env bash
# The load test: `make load` (or bash load/run.sh).
#
# Recreates the database portal_load on the local PostgreSQL, seeds it (load/dataset.py),
# starts gunicorn (WEB_CONCURRENCY workers, default 2 × cores + 1), a Celery worker and
# beat on the local Redis (databases 5 and 6), waits until the web answers, runs locust
# headless against http://127.0.0.1:$LOAD_PORT for a bounded time, stops everything
# (also on Ctrl-C or error) and prints the per-endpoint table, also written to
# var/load/report.md.
#
# Settings (environment): LOAD_USERS (200), LOAD_SPAWN_RATE (10 a second),
# LOAD_DURATION (3m), LOAD_CARDHOLDERS (250), WEB_CONCURRENCY, CELERY_CONCURRENCY (2),
# LOAD_PROCESSORS (4 processor users among LOAD_USERS), LOAD_WAIT_MIN/MAX (think time,
# 2-8 s), LOAD_PORT (8123).
set -euo pipefail
# shellcheck source=load/lib.sh
source "$(dirname "$0")/lib.sh"

LOAD_USERS="${LOAD_USERS:-200}"
LOAD_SPAWN_RATE="${LOAD_SPAWN_RATE:-10}"
LOAD_DURATION="${LOAD_DURATION:-3m}"

trap 'stack_stop' EXIT INT TERM

postgres_up || { log "PostgreSQL is not answering on 127.0.0.1:5432"; exit 1; }
redis_up || { log "Redis is not answering on 127.0.0.1:6379"; exit 1; }
database_fresh
stack_start

log "locust: $LOAD_USERS users (spawn $LOAD_SPAWN_RATE/s) for $LOAD_DURATION against $LOAD_HOST"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$LOAD_LOCUST_CPU"
"$PY" load/check.py cpu --save "$LOAD_DIR/cpu-before.json"
started=$(date +%s)
locust_run load "$LOAD_USERS" "$LOAD_SPAWN_RATE" "$LOAD_DURATION"
elapsed=$(($(date +%s) - started))
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
cpu="$("$PY" load/check.py cpu --since "$LOAD_DIR/cpu-before.json" --seconds "$elapsed" --locust "$LOAD_LOCUST_CPU")"

# What the run did in the database and the outbox.
facts="$("$PY" load/check.py facts)"
stack_stop

notes="$(date -u +%Y-%m-%dT%H:%MZ) · $LOAD_USERS users (of them ${LOAD_PROCESSORS:-4} processors), spawn $LOAD_SPAWN_RATE/s, \
$LOAD_DURATION (${elapsed}s wall) · think time ${LOAD_WAIT_MIN:-2}-${LOAD_WAIT_MAX:-8} s · gunicorn $WEB_CONCURRENCY sync workers, \
Celery concurrency $CELERY_CONCURRENCY · $CORES cores · load average before: $load_before, after: $load_after

$facts

$cpu"
status=0
"$PY" load/report.py "$LOAD_DIR/load_stats.csv" --title "Load test" --notes "$notes" --out "$LOAD_DIR/report.md" \
  --strict || status=$?
log "report: $LOAD_DIR/report.md (locust CSVs: $LOAD_DIR/load_*.csv)"
# The goal is no failed request: say so in the exit status.
[[ $status == 0 ]] || log "FAIL: some requests failed (see the table)"
exit "$status"

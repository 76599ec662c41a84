# Shared by load/run.sh and load/faults/*.sh: the environment of the load stack and the
# functions that start and stop it. Source it; do not run it.
#
# Everything binds to 127.0.0.1 and uses its own database (portal_load), its own Redis
# databases (5: broker, 6: cache) and its own folders under var/load/, so it never
# touches the development or test databases.

LOAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$LOAD_ROOT"
PY="$LOAD_ROOT/.venv/bin/python"
BIN="$LOAD_ROOT/.venv/bin"

LOAD_DB="${LOAD_DB:-portal_load}"
LOAD_PORT="${LOAD_PORT:-8123}"
LOAD_HOST="http://127.0.0.1:$LOAD_PORT"
LOAD_DIR="${LOAD_DIR:-$LOAD_ROOT/var/load}"
LOAD_CARDHOLDERS="${LOAD_CARDHOLDERS:-250}"
CORES="$(nproc)"
WEB_CONCURRENCY="${WEB_CONCURRENCY:-$((2 * CORES + 1))}"
CELERY_CONCURRENCY="${CELERY_CONCURRENCY:-2}"
case "$LOAD_DB" in test | test_* | postgres | portal) echo "refusing to use database $LOAD_DB" >&2; exit 2 ;; esac

mkdir -p "$LOAD_DIR"
# Secrets for this stack only, generated once (var/ is ignored by git).
if [[ ! -f "$LOAD_DIR/secrets.env" ]]; then
  umask 077
  for name in SECRET_KEY CARD_PAN_HASH_KEY CARD_VERIFICATION_KEY PROCESSOR_WEBHOOK_SECRET; do
    echo "$name=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
  done > "$LOAD_DIR/secrets.env"
  umask 022
fi
set -a
# shellcheck disable=SC1091
source "$LOAD_DIR/secrets.env"
DEBUG=false
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$LOAD_DB"
CACHE_URL="${LOAD_CACHE_URL:-redis://127.0.0.1:6379/6}"
CELERY_BROKER_URL="redis://127.0.0.1:6379/5"
CELERY_QUEUE=portal_load
ALLOWED_HOSTS=127.0.0.1,localhost
SECURE_SSL_REDIRECT=false
SECURE_COOKIES=false
SECURE_HSTS_SECONDS=0
VAR_DIR="$LOAD_DIR/var"
EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend
LOG_LEVEL="${LOG_LEVEL:-WARNING}"
# The locust file and the checker read these.
LOAD_USERS_FILE="$LOAD_DIR/users.json"
LOAD_ACK_LOG="$LOAD_DIR/acks.jsonl"
LOAD_LOCUST_CPU="$LOAD_DIR/locust-cpu.json"
set +a

PIDS_WEB="" PIDS_WORKER="" PIDS_BEAT=""

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

pg() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
redis() { redis-cli -h 127.0.0.1 "$@"; }

postgres_up() {
  for _ in $(seq 1 60); do pg -c "select 1" postgres >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
redis_up() {
  for _ in $(seq 1 60); do [[ "$(redis ping 2>/dev/null)" == PONG ]] && return 0; sleep 0.5; done
  return 1
}
# The services' own restart commands (only the fault scripts call these).
postgres_ctl() { pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main "$1"; }
redis_start() {
  [[ "$(redis ping 2>/dev/null)" == PONG ]] && return 0
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  redis_up
}

database_fresh() {
  # A new database each run: the figures never depend on what an earlier run left.
  pg -c "DROP DATABASE IF EXISTS $LOAD_DB WITH (FORCE)" postgres
  pg -c "CREATE DATABASE $LOAD_DB" postgres
  redis -n 5 flushdb >/dev/null
  redis -n 6 flushdb >/dev/null
  rm -rf "$VAR_DIR" "$LOAD_ACK_LOG"
  mkdir -p "$VAR_DIR"
  log "migrating $LOAD_DB"
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py collectstatic --noinput -v 0
  log "seeding $LOAD_CARDHOLDERS cardholders"
  "$PY" load/dataset.py --cardholders "$LOAD_CARDHOLDERS" --out "$LOAD_USERS_FILE"
}

web_start() {
  local args=(--bind "127.0.0.1:$LOAD_PORT" --workers "$WEB_CONCURRENCY" --timeout 30 --graceful-timeout 5
    --error-logfile -)
  if [[ -f gunicorn.conf.py ]]; then
    # The project's config, with our address and worker count (flags win over the file).
    "$BIN/gunicorn" -c gunicorn.conf.py "${args[@]}" portal.wsgi >"$LOAD_DIR/${LOG_PREFIX:-}gunicorn.log" 2>&1 &
  else
    "$BIN/gunicorn" "${args[@]}" portal.wsgi:application >"$LOAD_DIR/${LOG_PREFIX:-}gunicorn.log" 2>&1 &
  fi
  PIDS_WEB=$!
}

worker_start() {
  # setsid: the worker and its pool children form one process group, so a fault script
  # can kill -9 all of them at once and nothing else.
  setsid "$BIN/celery" -A portal worker -Q "$CELERY_QUEUE" --concurrency "$CELERY_CONCURRENCY" \
    --loglevel WARNING -n "load-$$-$RANDOM@%h" >>"$LOAD_DIR/${LOG_PREFIX:-}worker.log" 2>&1 &
  PIDS_WORKER=$!
}

beat_start() {
  "$BIN/celery" -A portal beat --loglevel WARNING --schedule "$LOAD_DIR/celerybeat-schedule" \
    >"$LOAD_DIR/${LOG_PREFIX:-}beat.log" 2>&1 &
  PIDS_BEAT=$!
}

wait_ready() {
  local path=/healthz
  # The readiness probe, if the app has one.
  if "$PY" - <<'EOF' 2>/dev/null; then path=/readyz; fi
import os, sys
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
import django
django.setup()
from django.urls import resolve
resolve("/readyz")
EOF
  for _ in $(seq 1 120); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$LOAD_HOST$path")" == 200 ]]; then
      log "web ready ($path, $WEB_CONCURRENCY gunicorn workers)"
      return 0
    fi
    kill -0 "$PIDS_WEB" 2>/dev/null || { log "gunicorn exited"; tail -30 "$LOAD_DIR/${LOG_PREFIX:-}gunicorn.log" >&2; return 1; }
    sleep 0.5
  done
  log "web not ready after 60 s"
  return 1
}

stack_start() {
  : >"$LOAD_DIR/${LOG_PREFIX:-}worker.log"
  web_start
  worker_start
  beat_start
  wait_ready
}

stop_pid() {  # stop_pid PID [process-group]: TERM, then KILL after 10 s
  local pid=$1 group=${2:-}
  [[ -z "$pid" ]] && return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if [[ -n "$group" ]]; then kill -TERM -- "-$pid" 2>/dev/null; else kill -TERM "$pid" 2>/dev/null; fi
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  if [[ -n "$group" ]]; then kill -KILL -- "-$pid" 2>/dev/null; else kill -KILL "$pid" 2>/dev/null; fi
  wait "$pid" 2>/dev/null || true
}

stack_stop() {
  stop_pid "$PIDS_BEAT"
  stop_pid "$PIDS_WORKER" group
  stop_pid "$PIDS_WEB"
  PIDS_WEB="" PIDS_WORKER="" PIDS_BEAT=""
}

# locust_run NAME USERS SPAWN_RATE DURATION: headless, bounded, loopback only.
locust_run() {
  local name=$1 users=$2 rate=$3 duration=$4
  "$BIN/locust" -f load/locustfile.py --headless --users "$users" --spawn-rate "$rate" --run-time "$duration" \
    --host "$LOAD_HOST" --csv "$LOAD_DIR/$name" --only-summary --stop-timeout 10 \
    --loglevel WARNING --logfile "$LOAD_DIR/$name-locust.log" >"$LOAD_DIR/$name-locust.out" 2>&1 || true
}

# --- Fault scripts (load/faults/*.sh) -----------------------------------------------------
# fault_begin NAME: a fresh stack under a short load started in the background.
# FAULT_USERS (50), FAULT_DURATION (100 s), FAULT_CARDHOLDERS (100), FAULT_AT (30 s: when the
# fault is injected), FAULT_OUTAGE (how long the service stays down).
fault_begin() {
  FAULT_NAME=$1
  LOG_PREFIX="$FAULT_NAME-"  # each script's gunicorn, worker and beat logs of its own
  FAULT_USERS="${FAULT_USERS:-50}"
  FAULT_DURATION="${FAULT_DURATION:-100}"
  FAULT_AT="${FAULT_AT:-30}"
  LOAD_CARDHOLDERS="${FAULT_CARDHOLDERS:-100}"
  export LOAD_REQUEST_LOG="$LOAD_DIR/$FAULT_NAME-requests.jsonl"
  export LOAD_ACK_LOG="$LOAD_DIR/$FAULT_NAME-acks.jsonl"
  rm -f "$LOAD_REQUEST_LOG" "$LOAD_ACK_LOG"
  postgres_up || { log "PostgreSQL is not answering"; exit 1; }
  redis_up || { log "Redis is not answering"; exit 1; }
  database_fresh
  stack_start
  log "$FAULT_NAME: locust $FAULT_USERS users for ${FAULT_DURATION}s; fault at ${FAULT_AT}s"
  locust_run "$FAULT_NAME" "$FAULT_USERS" 10 "${FAULT_DURATION}s" &
  FAULT_LOCUST=$!
  sleep "$FAULT_AT"
}

now() { date +%s.%N; }

# fault_report: the figures and verdicts (stdin) printed and written to var/load/fault-NAME.md.
fault_report() {
  local out="$LOAD_DIR/fault-$FAULT_NAME.md"
  {
    echo "### $FAULT_NAME ($(date -u +%Y-%m-%dT%H:%MZ), $FAULT_USERS users, ${FAULT_DURATION}s, load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo '```'
    cat
    echo '```'
    echo
    "$PY" load/report.py "$LOAD_DIR/${FAULT_NAME}_stats.csv" --title "$FAULT_NAME: requests" | sed 's/^## /#### /'
  } >"$out"
  cat "$out"
  if grep -q '^FAIL' "$out"; then log "$FAULT_NAME: FAIL"; return 1; fi
  log "$FAULT_NAME: PASS"
}

#!/bin/sh
# Run a manage.py command the way the services run: the same environment file, user and
# directory. Examples:
#   deploy/manage.sh migrate --noinput
#   deploy/manage.sh check --deploy
#   PORTAL_RUN_AS=root deploy/manage.sh collectstatic --noinput   (writes into the code tree)
#   deploy/manage.sh createsuperuser                               (interactive)
set -eu
user="${PORTAL_RUN_AS:-portal}"
if [ -t 0 ]; then io=--pty; else io=--pipe; fi
exec systemd-run --quiet --wait --collect "$io" \
  --uid="$user" --gid="$user" \
  --property=EnvironmentFile=/etc/portal/portal.env \
  --setenv=DJANGO_SETTINGS_MODULE=portal.settings \
  --working-directory=/srv/portal/app \
  /srv/portal/venv/bin/python manage.py "$@"

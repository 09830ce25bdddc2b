#!/bin/bash
# Serve Quorum on 127.0.0.1:$PORT with one Celery worker (what `make run` starts after migrating).
# Ctrl-C, or SIGINT/SIGTERM/SIGHUP to the process group, stops both once, quietly, and exits 0.
# - This shell is their only supervisor: `set -m` starts each in its own process group, so a signal to this
#   group (a terminal's Ctrl-C, a supervisor's TERM) reaches them only as the one SIGTERM stop() sends. Were they
#   in this group, a ready worker would get the group's INT and then stop()'s TERM, and shut down twice.
# - The old recipe's `trap 'kill 0'` signalled its own group from inside the trap, re-entering it until the
#   shell crashed.
set -m
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8000}
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM HUP
  kill -TERM "$worker" "$server" 2>/dev/null
  wait "$worker" "$server" 2>/dev/null
  exit 0
}
trap stop INT TERM HUP
"$BIN/celery" -A quorum --quiet worker --loglevel=warning --concurrency=1 --pool=solo &
worker=$!
"$BIN/python" manage.py runserver "127.0.0.1:$PORT" --noreload --skip-checks &
server=$!
# Either one ending on its own (port taken, broker down) stops the other; the status says which failed.
wait -n "$worker" "$server"
status=$?
[ "$stopping" = 1 ] && exit 0
trap '' INT TERM HUP
kill -TERM "$worker" "$server" 2>/dev/null
wait "$worker" "$server" 2>/dev/null
exit "$status"

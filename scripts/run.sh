#!/usr/bin/env bash
# `make run`: the whole system on this machine — RabbitMQ (started if needed), every
# service and the gateway on their SQLite defaults. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export ALUMNI_VAR_DIR="${ALUMNI_VAR_DIR:-$PWD/var}"
mkdir -p "$ALUMNI_VAR_DIR/log"

ENSURE_RABBIT_MANAGEMENT=0 scripts/ensure-rabbitmq.sh

export ALUMNI_ADMIN_USERNAME="${ALUMNI_ADMIN_USERNAME:-admin}"
password_file="$ALUMNI_VAR_DIR/admin-password"
if [ -z "${ALUMNI_ADMIN_PASSWORD:-}" ]; then
  if [ ! -s "$password_file" ]; then
    "$PY" -c 'import secrets; print(secrets.token_urlsafe(12))' > "$password_file"
    chmod 600 "$password_file"
  fi
  ALUMNI_ADMIN_PASSWORD="$(cat "$password_file")"
  export ALUMNI_ADMIN_PASSWORD
  password_note="(generated, kept in $password_file)"
else
  password_note="(from ALUMNI_ADMIN_PASSWORD)"
fi

pids=()
# One TERM each, then KILL after a grace period: a nameko process that receives a second
# signal while stopping (Ctrl-C's INT followed by TERM) never finishes stopping.
# shellcheck disable=SC2317  # called from the trap
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap stop_all INT TERM EXIT

# The local stand-ins for outside systems (payment, SMS, mail), then every service of the
# catalogue (services/common/catalogue.py), the gateway last.
mapfile -t stand_ins < <("$PY" -m services.common.catalogue --stand-ins)
for module in "${stand_ins[@]}"; do
  setsid "$PY" -m "$module" >"$ALUMNI_VAR_DIR/log/${module##*.}.log" 2>&1 &
  pids+=("$!")
done
mapfile -t services < <("$PY" -m services.common.catalogue)
for service in "${services[@]}"; do
  # setsid: the terminal's Ctrl-C reaches this script only; stop_all signals each service once.
  setsid "$PY" -m services.launch "$service" >"$ALUMNI_VAR_DIR/log/$service.log" 2>&1 &
  pids+=("$!")
done

address="${WEB_SERVER_ADDRESS:-127.0.0.1:8000}"
url="http://$address"
for _ in $(seq 1 60); do
  if "$PY" -c "import sys, urllib.request; urllib.request.urlopen('$url/ready', timeout=2)" 2>/dev/null; then
    stand_in_notes="$("$PY" -m services.common.catalogue --stand-in-notes | sed 's/^/  /')"
    cat <<MSG

校友工作平台已启动 / the alumni platform is running
  API:        $url/api/v1
  API docs:   $url/docs
  admin:      $ALUMNI_ADMIN_USERNAME / $ALUMNI_ADMIN_PASSWORD $password_note
  logs:       $ALUMNI_VAR_DIR/log/
$stand_in_notes
Press Ctrl-C to stop.
MSG
    wait -n "${pids[@]}"
    echo "a service stopped; see $ALUMNI_VAR_DIR/log/ — stopping the others" >&2
    exit 1
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "a service failed to start; its log:" >&2
      tail -n 30 "$ALUMNI_VAR_DIR"/log/*.log >&2
      exit 1
    fi
  done
  sleep 1
done
echo "the system did not become ready within 60 s; logs in $ALUMNI_VAR_DIR/log/" >&2
exit 1

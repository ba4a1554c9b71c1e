#!/usr/bin/env bash
# Make sure a RabbitMQ broker is reachable for the tests / `make run`.
#
# Idempotent. If RABBIT_HOST:RABBIT_PORT already accepts connections nothing is
# installed or started. Otherwise (local host only) RabbitMQ is installed from
# the distribution packages when missing (root + apt-get only) and started.
# Then the management plugin is enabled if its HTTP API does not answer yet
# (nameko's pytest fixtures create a throwaway vhost per test through it).
#
# Usage: scripts/ensure-rabbitmq.sh [--no-management]
#
# Environment:
#   RABBIT_HOST               AMQP host              (default 127.0.0.1)
#   RABBIT_PORT               AMQP port              (default 5672)
#   RABBIT_MGMT_PORT          management API port    (default 15672)
#   RABBIT_USER/RABBIT_PASSWORD  credentials checked against the API (guest/guest)
#   ENSURE_RABBIT_MANAGEMENT  0 = skip the management plugin step (same as --no-management)
#   ENSURE_WAIT_SECONDS       how long to wait for the broker / API (default 60)
#   ALUMNI_APT_STAMP          optional file: if it exists `apt-get update` is skipped,
#                             and it is created after an update (.ci/run sets it so
#                             that `apt-get update` runs once per CI job)
#
# Quiet on success: one "RabbitMQ: ready at ..." line on stdout; progress of the
# rare install/start/enable steps goes to stderr.
set -euo pipefail

RABBIT_HOST="${RABBIT_HOST:-127.0.0.1}"
RABBIT_PORT="${RABBIT_PORT:-5672}"
RABBIT_MGMT_PORT="${RABBIT_MGMT_PORT:-15672}"
RABBIT_USER="${RABBIT_USER:-guest}"
RABBIT_PASSWORD="${RABBIT_PASSWORD:-guest}"
WAIT_SECONDS="${ENSURE_WAIT_SECONDS:-60}"
MANAGEMENT="${ENSURE_RABBIT_MANAGEMENT:-1}"

for arg in "$@"; do
    case "$arg" in
        --no-management) MANAGEMENT=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "ensure-rabbitmq: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

# rabbitmq-* live in /usr/sbin (Debian) or Homebrew's sbin; not always on a user's PATH.
PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin:/opt/homebrew/sbin"
export PATH DEBIAN_FRONTEND=noninteractive

ENSURE_LABEL="RabbitMQ" ENSURE_NAME="ensure-rabbitmq"
# shellcheck source=scripts/ensure-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/ensure-common.sh"

# Homebrew-style installs run RabbitMQ as the current user; distribution
# packages (/usr/sbin, /usr/lib) need root. Never run the latter as a normal
# user: Debian's wrapper would then boot a node in the foreground as that user.
user_install() {
    local p
    p="$(command -v "$1" 2>/dev/null)" || return 1
    case "$p" in /usr/sbin/*|/sbin/*|/usr/lib/*) return 1 ;; *) return 0 ;; esac
}

is_local_host() {
    case "$1" in
        127.*|localhost|::1|"[::1]"|"$(hostname 2>/dev/null || echo localhost)") return 0 ;;
        *) return 1 ;;
    esac
}

# Prints the HTTP status of GET /api/overview with the configured credentials
# ("000" if nothing answers). Proxies are bypassed on purpose.
MGMT_URL="http://${RABBIT_HOST}:${RABBIT_MGMT_PORT}/api/overview"
case "$RABBIT_HOST" in *:*) [ "${RABBIT_HOST#[}" = "$RABBIT_HOST" ] && MGMT_URL="http://[${RABBIT_HOST}]:${RABBIT_MGMT_PORT}/api/overview" ;; esac
mgmt_status() {
    if have python3; then
        python3 - "$MGMT_URL" "$RABBIT_USER" "$RABBIT_PASSWORD" <<'PY' 2>/dev/null || echo 000
import base64, sys, urllib.error, urllib.request
url, user, password = sys.argv[1:4]
token = base64.b64encode(f"{user}:{password}".encode()).decode()
req = urllib.request.Request(url, headers={"Authorization": "Basic " + token})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(req, timeout=5) as resp:
        print(resp.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except Exception:
    print("000")
PY
    elif have curl; then
        curl -s -o /dev/null -w '%{http_code}' --noproxy '*' -m 5 \
            -u "${RABBIT_USER}:${RABBIT_PASSWORD}" "$MGMT_URL" 2>/dev/null || true
    else
        die "neither python3 nor curl is available to check the management API"
    fi
}

# Run a privileged command: directly as root, else through passwordless sudo.
# Returns 127 if neither is possible.
privileged() {
    if is_root; then
        "$@"
    elif have sudo && sudo -n true 2>/dev/null; then
        sudo -n env "PATH=$PATH" ${RABBITMQ_NODENAME:+"RABBITMQ_NODENAME=$RABBITMQ_NODENAME"} "$@"
    else
        return 127
    fi
}

# A fresh node is named rabbit@<short hostname>; if that name does not resolve
# (some containers) the node cannot boot or be reached by rabbitmqctl. Use
# rabbit@localhost then - deterministically, so later runs pick the same name.
pick_nodename() {
    [ -n "${RABBITMQ_NODENAME:-}" ] && return 0
    local conf
    for conf in /etc/rabbitmq/rabbitmq-env.conf /usr/local/etc/rabbitmq/rabbitmq-env.conf \
                /opt/homebrew/etc/rabbitmq/rabbitmq-env.conf; do
        [ -r "$conf" ] && grep -Eq '^[[:space:]]*(export[[:space:]]+)?(RABBITMQ_)?NODENAME=' "$conf" && return 0
    done
    local short
    short="$(hostname -s 2>/dev/null || hostname 2>/dev/null || true)"
    if [ -n "$short" ] && have getent && ! getent hosts "$short" >/dev/null 2>&1; then
        export RABBITMQ_NODENAME="rabbit@localhost"
    fi
}

wait_for() {  # command... ; retried every second for up to WAIT_SECONDS
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 1
    done
}

api_ok() { [ "$(mgmt_status)" = "200" ]; }

show_server_logs() {
    local f
    for f in /var/log/rabbitmq/startup_err /var/log/rabbitmq/startup_log /var/log/rabbitmq/rabbit*.log; do
        [ -s "$f" ] || continue
        { echo "---- tail $f ----"; tail -n 20 "$f"; } >>"$LOG" 2>/dev/null || true
    done
}

# --------------------------------------------------------------------------
# 1. The AMQP port
# --------------------------------------------------------------------------
pick_nodename

if ! port_open "$RABBIT_HOST" "$RABBIT_PORT"; then
    if ! is_local_host "$RABBIT_HOST"; then
        die "nothing accepts connections at ${RABBIT_HOST}:${RABBIT_PORT}, and that host is not local, so this script cannot start it"
    fi

    if ! have rabbitmq-server; then
        if is_root && have apt-get; then
            say "not installed; installing rabbitmq-server from the distribution packages..."
            apt_install rabbitmq-server
        else
            die "RabbitMQ is not installed and nothing listens on ${RABBIT_HOST}:${RABBIT_PORT}.
  Install and start it, then re-run:
    Debian/Ubuntu: sudo apt-get install rabbitmq-server   (then: sudo service rabbitmq-server start)
    macOS:         brew install rabbitmq && brew services start rabbitmq"
        fi
    fi

    # The package's post-install may have started it already.
    if ! port_open "$RABBIT_HOST" "$RABBIT_PORT"; then
        node_up=0
        if have rabbitmqctl; then
            if privileged timeout 20 rabbitmqctl -q status >/dev/null 2>&1; then node_up=1; fi
        fi
        if [ "$node_up" -eq 1 ]; then
            say "node is running but ${RABBIT_HOST}:${RABBIT_PORT} is not open yet; waiting..."
        else
            say "not running; starting it (rabbitmq-server -detached)..."
            rc=0
            privileged rabbitmq-server -detached >>"$LOG" 2>&1 || rc=$?
            if [ "$rc" -eq 127 ] && user_install rabbitmq-server; then
                rc=0
                rabbitmq-server -detached >>"$LOG" 2>&1 || rc=$?
            fi
            if [ "$rc" -eq 127 ]; then
                die "RabbitMQ is installed but not running, and starting it needs root. Start it, then re-run:
    sudo service rabbitmq-server start   (or: sudo systemctl start rabbitmq-server / sudo rabbitmq-server -detached)"
            elif [ "$rc" -ne 0 ]; then
                die "could not start RabbitMQ (exit $rc). Start it yourself, e.g.:
    sudo rabbitmq-server -detached     (or: sudo service rabbitmq-server start / sudo systemctl start rabbitmq-server)"
            fi
        fi
        if ! wait_for port_open "$RABBIT_HOST" "$RABBIT_PORT"; then
            show_server_logs
            die "started, but ${RABBIT_HOST}:${RABBIT_PORT} still refuses connections after ${WAIT_SECONDS}s"
        fi
    fi
fi

# --------------------------------------------------------------------------
# 2. The management plugin (HTTP API used by nameko's pytest fixtures)
# --------------------------------------------------------------------------
if [ "$MANAGEMENT" != "0" ]; then
    status="$(mgmt_status)"
    if [ "$status" = "000" ]; then
        if ! is_local_host "$RABBIT_HOST"; then
            die "the management API does not answer at ${MGMT_URL}; enable it on that broker: rabbitmq-plugins enable rabbitmq_management"
        fi
        say "enabling the management plugin..."
        rc=0
        privileged rabbitmq-plugins enable rabbitmq_management >>"$LOG" 2>&1 || rc=$?
        if [ "$rc" -eq 127 ] && user_install rabbitmq-plugins; then
            rc=0
            rabbitmq-plugins enable rabbitmq_management >>"$LOG" 2>&1 || rc=$?
        fi
        if [ "$rc" -eq 127 ]; then
            die "the management API does not answer at ${MGMT_URL} and enabling the plugin needs root. Run:
    sudo rabbitmq-plugins enable rabbitmq_management
  (or use --no-management / ENSURE_RABBIT_MANAGEMENT=0 if you do not need it, e.g. for make run)"
        elif [ "$rc" -ne 0 ]; then
            die "could not enable the management plugin (exit $rc). Run it yourself:
    sudo rabbitmq-plugins enable rabbitmq_management"
        fi
        if ! wait_for api_ok; then
            status="$(mgmt_status)"
            show_server_logs
            if [ "$status" = "000" ]; then
                die "management plugin enabled, but ${MGMT_URL} does not answer after ${WAIT_SECONDS}s"
            fi
        fi
        status="$(mgmt_status)"
    fi
    case "$status" in
        200) ;;
        401)
            die "the management API at ${MGMT_URL} rejects ${RABBIT_USER}:${RABBIT_PASSWORD} (HTTP 401).
  The tests need that user with the administrator tag, e.g.:
    sudo rabbitmqctl add_user ${RABBIT_USER} <password> && sudo rabbitmqctl set_user_tags ${RABBIT_USER} administrator
  (the default guest user can only log in from localhost)" ;;
        *) die "the management API at ${MGMT_URL} answered HTTP ${status}, expected 200" ;;
    esac
    echo "RabbitMQ: ready at ${RABBIT_HOST}:${RABBIT_PORT} (management API at http://${RABBIT_HOST}:${RABBIT_MGMT_PORT})"
else
    echo "RabbitMQ: ready at ${RABBIT_HOST}:${RABBIT_PORT}"
fi

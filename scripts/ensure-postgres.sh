#!/usr/bin/env bash
# Make sure the PostgreSQL server named by TEST_POSTGRES_URL is usable by the tests:
# reachable without a password, as a superuser (the tests CREATE DATABASE), with
# the database in the URL present.
#
# Idempotent. If that already works NOTHING is changed. Otherwise, for a local
# server only (Debian-style postgresql-common layout):
#   - installs `postgresql` from the distribution packages when missing (root + apt-get),
#   - starts the cluster that owns the port (pg_ctlcluster --skip-systemctl-redirect),
#   - if the login is refused, prepends `host all all 127.0.0.1/32 trust` to
#     pg_hba.conf (a backup *.orig-ensure-postgres is kept) and reloads,
#   - creates the role (LOGIN SUPERUSER) and the database if they are missing.
#
# Usage: scripts/ensure-postgres.sh
#
# Environment:
#   TEST_POSTGRES_URL    default postgresql://postgres@127.0.0.1:5432/test
#                        (a SQLAlchemy-style "postgresql+psycopg2://" scheme is accepted)
#   ENSURE_WAIT_SECONDS  how long to wait for the server to accept connections (default 60)
#   ALUMNI_APT_STAMP     optional file: if it exists `apt-get update` is skipped, and it
#                        is created after an update (.ci/run: one update per CI job)
#
# Quiet on success: one "PostgreSQL: ready at ..." line on stdout; progress of the
# rare install/start/fix steps goes to stderr.
set -euo pipefail

case "${1:-}" in
    "") ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ensure-postgres: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

URL="${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
WAIT_SECONDS="${ENSURE_WAIT_SECONDS:-60}"
PATH="$PATH:/usr/sbin:/sbin"
export PATH DEBIAN_FRONTEND=noninteractive LC_MESSAGES=C PGCONNECT_TIMEOUT=5

ENSURE_LABEL="PostgreSQL" ENSURE_NAME="ensure-postgres"
# shellcheck source=scripts/ensure-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/ensure-common.sh"

# --------------------------------------------------------------------------
# Parse the URL: scheme://[user[:password]@][host][:port][/dbname][?params]
# --------------------------------------------------------------------------
case "$URL" in
    postgres://*|postgresql://*|postgres+*://*|postgresql+*://*) ;;
    *) die "TEST_POSTGRES_URL must start with postgresql:// (got: $URL)" ;;
esac
rest="${URL#*://}"
LIBPQ_URL="postgresql://${rest}"          # drop any SQLAlchemy "+driver"
authority="${rest%%[/?]*}"
path=""
case "$rest" in "$authority"/*) path="${rest#"$authority"/}" ;; esac
DB="${path%%\?*}"
PG_USER=""
hostport="$authority"
case "$authority" in
    *@*) userinfo="${authority%@*}"; hostport="${authority##*@}"; PG_USER="${userinfo%%:*}" ;;
esac
case "$hostport" in
    \[*\]:*) PG_HOST="${hostport%%]:*}"; PG_HOST="${PG_HOST#[}"; PG_PORT="${hostport##*]:}" ;;
    \[*\])   PG_HOST="${hostport#[}"; PG_HOST="${PG_HOST%]}"; PG_PORT="" ;;
    *:*)     PG_HOST="${hostport%%:*}"; PG_PORT="${hostport##*:}" ;;
    *)       PG_HOST="$hostport"; PG_PORT="" ;;
esac
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-$(id -un)}"
DB="${DB:-$PG_USER}"
TCP_HOST="${PG_HOST:-127.0.0.1}"         # empty host = unix socket of the local server
SHOWN_URL="postgresql://${PG_USER}@${PG_HOST:-localhost}:${PG_PORT}/${DB}"

case "$TCP_HOST" in
    127.*|localhost|::1|"$(hostname 2>/dev/null || echo localhost)") LOCAL=1 ;;
    *) LOCAL=0 ;;
esac

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
server_up() {
    if have pg_isready; then
        pg_isready -q -h "${PG_HOST:-127.0.0.1}" -p "$PG_PORT" -t 3 >/dev/null 2>&1
    else
        port_open "$TCP_HOST" "$PG_PORT"
    fi
}

# A Python that has psycopg2 (the project venv), used when psql is missing.
find_python() {
    local here py
    here="$(cd "$(dirname "$0")/.." && pwd)"
    for py in "${PYTHON:-}" "$here/.venv/bin/python" python3; do
        [ -n "$py" ] && have "$py" && "$py" -c 'import psycopg2' >/dev/null 2>&1 && { echo "$py"; return 0; }
    done
    return 1
}

# check_login: connects as the URL's user. Sets CHECK_ERR; returns
#   0 = connected as a superuser, 1 = connected but not a superuser, 2 = cannot connect.
CHECK_ERR=""
check_login() {
    local out rc=0 py
    CHECK_ERR=""
    if have psql; then
        out="$(psql -X -w -q -At -d "$LIBPQ_URL" \
                 -c "select rolsuper from pg_roles where rolname = current_user" 2>&1)" || rc=$?
    elif py="$(find_python)"; then
        out="$("$py" - "$LIBPQ_URL" <<'PY' 2>&1
import sys
import psycopg2
try:
    conn = psycopg2.connect(sys.argv[1], connect_timeout=5)
except Exception as exc:
    print(str(exc).strip())
    sys.exit(2)
cur = conn.cursor()
cur.execute("select rolsuper from pg_roles where rolname = current_user")
print("t" if cur.fetchone()[0] else "f")
PY
)" || rc=$?
    else
        CHECK_ERR="no client available (neither psql nor a python with psycopg2)"
        return 3
    fi
    if [ "$rc" -ne 0 ]; then
        CHECK_ERR="$out"
        return 2
    fi
    case "$out" in
        t) return 0 ;;
        *) CHECK_ERR="connected, but role '${PG_USER}' is not a superuser"; return 1 ;;
    esac
}

# Run as the postgres OS user (administration through the local unix socket).
as_postgres() {
    if [ "$(id -un)" = "postgres" ]; then
        (cd / && "$@")
    elif is_root && have runuser; then
        (cd / && runuser -u postgres -- "$@")
    elif is_root; then
        (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    elif have sudo && sudo -n true 2>/dev/null; then
        (cd / && sudo -n -u postgres -- "$@")
    else
        return 127
    fi
}
admin_sql() {  # sql [db]
    as_postgres env -u PGHOST -u PGHOSTADDR -u PGUSER -u PGDATABASE -u PGSERVICE \
        psql -X -q -At -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "${2:-postgres}" -c "$1"
}
need_admin() {
    have psql || die "psql is needed to fix the server setup; install postgresql-client"
    if ! as_postgres true >/dev/null 2>&1; then
        die "$CHECK_ERR
  Fixing this needs root (or passwordless sudo). As an administrator run: $*"
    fi
}
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

# The postgresql-common cluster listening on PG_PORT: "<version> <name>".
find_cluster() {
    have pg_lsclusters || return 1
    pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'
}

wait_server() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    until server_up; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 1
    done
}

# --------------------------------------------------------------------------
# 0. Already fine? Then touch nothing.
# --------------------------------------------------------------------------
rc=0; check_login || rc=$?
if [ "$rc" -eq 0 ]; then
    echo "PostgreSQL: ready at ${SHOWN_URL}"
    exit 0
fi
if [ "$rc" -eq 3 ] && server_up; then
    # A server answers but there is nothing to log in with: get psql.
    if is_root && have apt-get; then
        say "psql not found; installing postgresql-client..."
        apt_install postgresql-client
        rc=0; check_login || rc=$?
        if [ "$rc" -eq 0 ]; then
            echo "PostgreSQL: ready at ${SHOWN_URL}"
            exit 0
        fi
    else
        die "a server answers on ${TCP_HOST}:${PG_PORT}, but psql is missing to check the login;
  install postgresql-client (or run 'make install' so .venv has psycopg2) and re-run"
    fi
fi

if [ "$LOCAL" -ne 1 ]; then
    die "cannot use ${SHOWN_URL}: ${CHECK_ERR}
  The host is not local, so this script cannot fix it."
fi

# --------------------------------------------------------------------------
# 1. Installed and running?
# --------------------------------------------------------------------------
if ! server_up; then
    if ! have pg_ctlcluster; then
        if is_root && have apt-get; then
            say "not installed; installing postgresql from the distribution packages..."
            # A UTF-8 locale makes the new cluster (and template1) UTF8-encoded.
            LANG=C.UTF-8 LC_ALL=C.UTF-8 apt_install postgresql
        else
            die "nothing accepts connections on ${TCP_HOST}:${PG_PORT} and PostgreSQL does not seem to be installed.
  Install and start it, then re-run:
    Debian/Ubuntu: sudo apt-get install postgresql   (then: sudo service postgresql start)
    macOS:         brew install postgresql@15 && brew services start postgresql@15"
        fi
    fi
    if ! server_up; then
        cluster="$(find_cluster || true)"
        if [ -z "$cluster" ]; then
            die "no PostgreSQL cluster is configured for port ${PG_PORT} (see pg_lsclusters);
  create one, e.g.: sudo pg_createcluster --start <version> main -p ${PG_PORT}"
        fi
        # shellcheck disable=SC2086  # "<version> <name>" -> two arguments
        set -- $cluster
        say "not running; starting cluster $1/$2..."
        if is_root; then
            pg_ctlcluster --skip-systemctl-redirect "$1" "$2" start >>"$LOG" 2>&1 \
                || die "pg_ctlcluster $1 $2 start failed"
        elif as_postgres true >/dev/null 2>&1; then
            as_postgres pg_ctlcluster --skip-systemctl-redirect "$1" "$2" start >>"$LOG" 2>&1 \
                || die "pg_ctlcluster $1 $2 start failed"
        else
            die "PostgreSQL is installed but not running, and starting it needs root. Run:
    sudo pg_ctlcluster $1 $2 start   (or: sudo service postgresql start)"
        fi
        if ! wait_server; then
            tail -n 20 "/var/log/postgresql/postgresql-$1-$2.log" >>"$LOG" 2>/dev/null || true
            die "started, but ${TCP_HOST}:${PG_PORT} does not accept connections after ${WAIT_SECONDS}s"
        fi
    fi
fi

# --------------------------------------------------------------------------
# 2. Login, role, database. Each pass fixes one problem, then re-checks.
# --------------------------------------------------------------------------
hba_done=0
for _ in 1 2 3 4 5; do
    rc=0; check_login || rc=$?
    case "$rc" in
        0)
            echo "PostgreSQL: ready at ${SHOWN_URL}"
            exit 0 ;;
        1)
            die "${CHECK_ERR}; the tests need CREATE DATABASE. As an administrator run:
    ALTER ROLE $(sql_ident "$PG_USER") SUPERUSER;" ;;
        3)
            die "$CHECK_ERR; install postgresql-client (psql)" ;;
    esac

    case "$CHECK_ERR" in
        *"role \"$PG_USER\" does not exist"*)
            need_admin "CREATE ROLE $(sql_ident "$PG_USER") LOGIN SUPERUSER;"
            say "creating role ${PG_USER} (LOGIN SUPERUSER)..."
            admin_sql "CREATE ROLE $(sql_ident "$PG_USER") LOGIN SUPERUSER" >>"$LOG" 2>&1 \
                || die "could not create role ${PG_USER}"
            ;;
        *"database \"$DB\" does not exist"*)
            need_admin "CREATE DATABASE $(sql_ident "$DB");"
            say "creating database ${DB}..."
            admin_sql "CREATE DATABASE $(sql_ident "$DB") OWNER $(sql_ident "$PG_USER")" >>"$LOG" 2>&1 \
                || die "could not create database ${DB}"
            ;;
        *)
            # Typically "password authentication failed" / "no password supplied" /
            # "no pg_hba.conf entry": the stock Debian pg_hba.conf wants scram on TCP.
            if [ "$hba_done" -eq 1 ]; then
                die "cannot log in to ${SHOWN_URL} even after trusting local TCP connections: ${CHECK_ERR}"
            fi
            need_admin "add 'host all all 127.0.0.1/32 trust' as the first rule of pg_hba.conf and reload"
            hba="$(admin_sql "SHOW hba_file" 2>>"$LOG")" || die "cannot ask the server for its pg_hba.conf"
            [ -n "$hba" ] || die "the server did not report its pg_hba.conf"
            rules=("host all all 127.0.0.1/32 trust")
            case "$TCP_HOST" in localhost|::1) rules+=("host all all ::1/128 trust") ;; esac
            say "login refused (${CHECK_ERR%%$'\n'*}); trusting local TCP connections in ${hba}..."
            # Written by the postgres user (it owns the file); a backup is kept once.
            # shellcheck disable=SC2016  # expanded by the inner sh
            as_postgres sh -c '
                set -e
                f="$1"; shift
                [ -e "$f.orig-ensure-postgres" ] || cp -p "$f" "$f.orig-ensure-postgres"
                tmp="$(mktemp)"
                {
                    echo "# Added by scripts/ensure-postgres.sh: password-less local TCP logins for the tests."
                    for rule in "$@"; do echo "$rule"; done
                    echo
                    cat "$f"
                } > "$tmp"
                cat "$tmp" > "$f"
                rm -f "$tmp"
            ' _ "$hba" "${rules[@]}" >>"$LOG" 2>&1 || die "could not edit ${hba}"
            admin_sql "SELECT pg_reload_conf()" >>"$LOG" 2>&1 || die "could not reload the configuration"
            sleep 1
            hba_done=1
            ;;
    esac
done
die "still cannot use ${SHOWN_URL}: ${CHECK_ERR}"

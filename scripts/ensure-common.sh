# shellcheck shell=bash
# Helpers shared by scripts/ensure-rabbitmq.sh and scripts/ensure-postgres.sh; sourced, not run.
# The sourcing script sets ENSURE_LABEL (how messages name the server) and ENSURE_NAME
# (its temporary log's prefix) first.

LOG="$(mktemp "${TMPDIR:-/tmp}/${ENSURE_NAME}.XXXXXX")"
trap 'rm -f "$LOG"' EXIT

say() { echo "${ENSURE_LABEL}: $*" >&2; }
die() {
    echo "${ENSURE_LABEL}: ERROR: $*" >&2
    if [ -s "$LOG" ]; then
        echo "---- last output ----" >&2
        tail -n 40 "$LOG" >&2
    fi
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# shellcheck disable=SC2016  # $1/$2 expand in the child bash, on purpose
port_open() {  # host port
    local h="${1#[}"; h="${h%]}"
    if have timeout; then
        timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$h" "$2" 2>/dev/null
    else
        bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$h" "$2" 2>/dev/null
    fi
}

apt_install() {
    if [ -z "${ALUMNI_APT_STAMP:-}" ] || [ ! -e "$ALUMNI_APT_STAMP" ]; then
        apt-get update -qq >>"$LOG" 2>&1 || die "apt-get update failed"
        if [ -n "${ALUMNI_APT_STAMP:-}" ]; then touch "$ALUMNI_APT_STAMP"; fi
    fi
    apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@" >>"$LOG" 2>&1 \
        || die "apt-get install $* failed"
}

#!/usr/bin/env bash
# Every test, as `make test` runs them, in three pytest processes, two at a time: one
# pytest alone leaves much of the machine's two cores idle (its tests wait on processes,
# the broker and the database), and three at once slow each other's systems until the
# browser tests' timeouts fail them (README "Tests").
#
#   - the main suite's tests on PostgreSQL      `pytest --shard postgres`
#   - the main suite's other tests              `pytest --shard others`
#   - the browser suite                         `pytest tests/browser` (docs/portal.md),
#                                               as soon as either half has ended
#
# Each half of the main suite starts the shared system (`system`, tests/conftest.py) of its
# own backend only. The "others" half prints as it runs; the other two write to
# var/test-logs/{postgres,browser}.log, printed at the end. All three always run to the
# end, so that one report shows every failure; the exit code is the first non-zero one
# (others, postgres, browser) or 0. Arguments go to both halves of the main suite
# (`scripts/test.sh -x`, say). Needs bash 5.1 (`wait -p`).
#
# Environment: PY, the Python of the project's virtualenv (default .venv/bin/python).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PY:-.venv/bin/python}"
LOGS=var/test-logs
# Each run ends with its slowest tests, so that what makes CI slow is on record.
DURATIONS=--durations=15
mkdir -p "$LOGS"
: >"$LOGS/browser.log"

show_logs() {
    printf '\n==================== main suite, tests on PostgreSQL (%s) ====================\n' \
        "$LOGS/postgres.log"
    cat "$LOGS/postgres.log"
    printf '\n==================== browser suite (%s) ====================\n' "$LOGS/browser.log"
    cat "$LOGS/browser.log"
}
# Stopped (Ctrl-C, CI's time limit): the signal reaches the whole process group, so every
# run stops too; what they had printed is still shown.
trap 'wait; show_logs; exit 130' INT
trap 'wait; show_logs; exit 143' TERM

# A script's background commands ignore SIGINT; these take Ctrl-C as a command in front
# would (KeyboardInterrupt: their systems are stopped and removed).
env --default-signal=INT "$PY" -m pytest --shard others $DURATIONS "$@" &
others_pid=$!
env --default-signal=INT "$PY" -m pytest --shard postgres $DURATIONS "$@" >"$LOGS/postgres.log" 2>&1 &
postgres_pid=$!

declare -A rc
wait -n -p first "$others_pid" "$postgres_pid"
rc[$first]=$?
env --default-signal=INT "$PY" -m pytest tests/browser $DURATIONS >"$LOGS/browser.log" 2>&1 &
browser_pid=$!
for pid in "$others_pid" "$postgres_pid" "$browser_pid"; do
    if [ -z "${rc[$pid]:-}" ]; then
        wait "$pid"
        rc[$pid]=$?
    fi
done

show_logs
printf '\n==================== make test: others %d, postgres %d, browser %d ====================\n' \
    "${rc[$others_pid]}" "${rc[$postgres_pid]}" "${rc[$browser_pid]}"
for pid in "$others_pid" "$postgres_pid" "$browser_pid"; do
    if [ "${rc[$pid]}" -ne 0 ]; then
        exit "${rc[$pid]}"
    fi
done

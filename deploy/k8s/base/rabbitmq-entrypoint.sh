#!/bin/sh
# GENERATED from services/common/catalogue.py by `make deploy-files`.
# The broker's container runs this: it puts each service account's password into the
# platform's definitions and starts RabbitMQ, which loads them (rabbitmq.conf).
set -eu
check() {
    case "$2" in
        "" | *[!A-Za-z0-9_-]*)
            echo "rabbitmq: set $1 (letters, digits, - and _ only)" >&2
            exit 1 ;;
    esac
}
check BROKER_PASSWORD_REGISTRY "${BROKER_PASSWORD_REGISTRY:-}"
check BROKER_PASSWORD_EVENTS "${BROKER_PASSWORD_EVENTS:-}"
check BROKER_PASSWORD_DONATIONS "${BROKER_PASSWORD_DONATIONS:-}"
check BROKER_PASSWORD_NOTIFY "${BROKER_PASSWORD_NOTIFY:-}"
check BROKER_PASSWORD_GATEWAY "${BROKER_PASSWORD_GATEWAY:-}"
sed \
    -e 's|"name": "alumni-registry", "password_hash": ""|"name": "alumni-registry", "password": "'"$BROKER_PASSWORD_REGISTRY"'"|' \
    -e 's|"name": "alumni-events", "password_hash": ""|"name": "alumni-events", "password": "'"$BROKER_PASSWORD_EVENTS"'"|' \
    -e 's|"name": "alumni-donations", "password_hash": ""|"name": "alumni-donations", "password": "'"$BROKER_PASSWORD_DONATIONS"'"|' \
    -e 's|"name": "alumni-notify", "password_hash": ""|"name": "alumni-notify", "password": "'"$BROKER_PASSWORD_NOTIFY"'"|' \
    -e 's|"name": "alumni-gateway", "password_hash": ""|"name": "alumni-gateway", "password": "'"$BROKER_PASSWORD_GATEWAY"'"|' \
    /etc/alumni/rabbitmq-definitions.json > /tmp/alumni-definitions.json
chmod 644 /tmp/alumni-definitions.json
exec docker-entrypoint.sh rabbitmq-server

#!/bin/sh
# A production-style health check script, run by the VIP's exec check:
# healthy (exit 0) when the backend's SOA serial is at least the published one.
serial=$(dig +short +time=1 +tries=1 @"$DNSCHAOS_ADDRESS" -p "$DNSCHAOS_PORT" "$DNSCHAOS_ZONE" SOA | awk '{print $3}')
echo "backend $DNSCHAOS_BACKEND serial '$serial' published '$DNSCHAOS_PUBLISHED_SERIAL'"
[ -n "$serial" ] || exit 2
[ "$serial" -ge "$DNSCHAOS_PUBLISHED_SERIAL" ]

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make demo: the most complete chain that exists, on 127.0.0.1:8080, started
# the way systemd would start it (socket activation through ashd-launch).
# Today that is htparser in front of the protocol test handler, which
# answers every request with what reached it over ashd(7); later issues put
# patplex, dirplex and sendfile behind htparser here.
set -eu

BUILD=${BUILD:-build}
ADDR=${DEMO_ADDR:-127.0.0.1:8080}
TLS_ADDR=${DEMO_TLS_ADDR:-127.0.0.1:8443}
DIR="$BUILD/demo"

# A self-signed certificate for localhost, made once.
mkdir -p "$DIR"
if [ ! -s "$DIR/cert.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
                -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
                -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
fi

cat <<MSG
ashd demo on http://$ADDR/ and https://$TLS_ADDR/ (Ctrl-C stops it)

  curl -i http://$ADDR/hello?x=1
  curl -i --cacert $DIR/cert.pem https://localhost:${TLS_ADDR##*:}/hello
  curl -i -d 'some body' http://$ADDR/body
  curl -i http://$ADDR/silent        (a handler that fails: 502)

Access log entries follow on this terminal.
MSG

exec "$BUILD/ashd-launch" --lazy -l "http=tcp:$ADDR" -l "https=tcp:$TLS_ADDR" -- \
        "$BUILD/htparser" --tls-cert="$DIR/cert.pem" --tls-key="$DIR/key.pem" \
        -- "$BUILD/tests/helpers/test-handler"

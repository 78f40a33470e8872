#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make demo: the most complete chain that exists, on 127.0.0.1:8080 (and
# https on 8443), started the way systemd would start it (socket activation
# through ashd-launch): htparser in front, dirplex with the shipped
# etc/ashd/dirplex.rc serving the example site in tests/demo-site, and the
# persistent sendfile and htls it starts. Later issues put patplex and
# userplex in front of dirplex here.
set -eu

BUILD=${BUILD:-build}
ADDR=${DEMO_ADDR:-127.0.0.1:8080}
TLS_ADDR=${DEMO_TLS_ADDR:-127.0.0.1:8443}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SITE=${DEMO_SITE:-$SRC/tests/demo-site}
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
serving $SITE

  curl -i http://$ADDR/
  curl -i --cacert $DIR/cert.pem https://localhost:${TLS_ADDR##*:}/about
  curl -i http://$ADDR/docs/                         (a listing by htls)
  curl -i -H 'Accept: application/json' http://$ADDR/docs/
  curl -i --compressed http://$ADDR/style.css        (the precompressed .gz)
  curl -i -H 'Range: bytes=0-9' http://$ADDR/about.html

Access log entries follow on this terminal.
MSG

# dirplex finds sendfile and htls by name, as an installed system would.
PATH="$(cd "$BUILD" && pwd):$PATH"
export PATH
exec "$BUILD/ashd-launch" --lazy -l "http=tcp:$ADDR" -l "https=tcp:$TLS_ADDR" -- \
        "$BUILD/htparser" --tls-cert="$DIR/cert.pem" --tls-key="$DIR/key.pem" \
        -- dirplex -N -c "$SRC/etc/ashd/dirplex.rc" "$SITE"

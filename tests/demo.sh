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

cat <<MSG
ashd demo on http://$ADDR/ (Ctrl-C stops it)

  curl -i http://$ADDR/hello?x=1
  curl -i -d 'some body' http://$ADDR/body
  curl -i http://$ADDR/silent        (a handler that fails: 502)

Access log entries follow on this terminal.
MSG

exec "$BUILD/ashd-launch" --lazy -l "http=tcp:$ADDR" -- \
        "$BUILD/htparser" -- "$BUILD/tests/helpers/test-handler"

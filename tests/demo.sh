#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make demo: the whole chain on 127.0.0.1:8080 (and https on 8443), each
# program started the way systemd starts it — socket activation through
# ashd-launch, on the first connection:
#
#   htparser ─ root.sock ─ patplex (etc/ashd/root.conf)
#                            ├─ /~nobody/ ─ userplex ─ nobody.sock ─ ashd-usersite
#                            │                          (as nobody: dirplex, sendfile)
#                            └─ the rest ─ dirplex (etc/ashd/dirplex.rc) ─ sendfile, htls
#
# The shipped configuration files are used with their system paths moved
# under $BUILD/demo. The user site stands for what ashd-user@.socket gives an
# administrator-enabled user; it runs as "nobody", whom every Debian system
# has, with a bundled home directory.
set -eu

BUILD=${BUILD:-build}
ADDR=${DEMO_ADDR:-127.0.0.1:8080}
TLS_ADDR=${DEMO_TLS_ADDR:-127.0.0.1:8443}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SITE=${DEMO_SITE:-$SRC/tests/demo-site}
DIR="$BUILD/demo"
BIN=$(cd "$BUILD" && pwd)
# dirplex and patplex find their children by name, as an installed system would.
PATH="$BIN:$PATH"
export PATH

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
RUN="$DIR/run"
rm -rf "$RUN"
mkdir -p "$RUN/user"
chmod 0755 "$RUN" "$RUN/user"

# A self-signed certificate for localhost, made once.
if [ ! -s "$DIR/cert.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
                -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
                -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
fi

# The user's home must be readable by that user wherever the checkout is.
HOME_DIR=$(mktemp -d /tmp/ashd-demo-home.XXXXXX)
cp -r "$SRC/tests/demo-user/." "$HOME_DIR/"
chmod -R go+rX "$HOME_DIR"

sed -e "s|/run/ashd/|$RUN/|g" \
    -e "s|exec dirplex /var/www/html|exec dirplex -N -c $SRC/etc/ashd/dirplex.rc $SITE|" \
    "$SRC/etc/ashd/root.conf" >"$DIR/root.conf"

pids=
cleanup() {
        trap - EXIT INT TERM
        [ -z "$pids" ] || kill $pids 2>/dev/null || true
        wait 2>/dev/null || true
        rm -rf "$HOME_DIR" "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LAUNCHER-ARGS...: runs ashd-launch in the background, its
# events on this terminal as "[NAME] ...", and returns once it has bound its
# socket (its first event).
start() {
        local name=$1 fifo="$RUN/$1.events" fd line
        shift
        mkfifo "$fifo"
        # Each open waits for the other end, so neither blocks for long, and
        # the reader sees the end when the launcher exits.
        "$BIN/ashd-launch" "$@" >"$fifo" &
        pids="$pids $!"
        exec {fd}<"$fifo"
        IFS= read -r -u "$fd" line
        echo "[$name] $line"
        sed -u "s/^/[$name] /" <&"$fd" &
        exec {fd}<&-
}

start userplex --lazy -l "userplex=unix:$RUN/userplex.sock" -- userplex --user-dir="$RUN/user"
start site --lazy -u nobody -l "site=unix:$RUN/user/nobody.sock" --setenv="HOME=$HOME_DIR" -- \
        ashd-usersite -c "$SRC/etc/ashd/dirplex.rc"
start patplex --lazy -l "root=unix:$RUN/root.sock" -- patplex -N "$DIR/root.conf"

cat <<MSG
ashd demo on http://$ADDR/ and https://$TLS_ADDR/ (Ctrl-C stops it)
serving $SITE, and $HOME_DIR/public_html as /~nobody/

  curl -i http://$ADDR/
  curl -i http://$ADDR/~nobody/                      (a user's site, run as nobody)
  curl -i --cacert $DIR/cert.pem https://localhost:${TLS_ADDR##*:}/about
  curl -i http://$ADDR/docs/                         (a listing by htls)
  curl -i -H 'Accept: application/json' http://$ADDR/docs/
  curl -i --compressed http://$ADDR/style.css        (the precompressed .gz)
  curl -i -H 'Range: bytes=0-9' http://$ADDR/about.html

Programs start on the first request; their events and the access log
follow on this terminal.
MSG

start htparser -l "http=tcp:$ADDR" -l "https=tcp:$TLS_ADDR" -- \
        htparser --tls-cert="$DIR/cert.pem" --tls-key="$DIR/key.pem" --root-socket="$RUN/root.sock"
wait

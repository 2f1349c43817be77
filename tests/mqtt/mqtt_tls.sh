#!/usr/bin/env bash
# The MQTT output over TLS: a private CA, a broker certificate for 127.0.0.1 and a client certificate (openssl),
# mosquitto requiring both the client certificate and the password. portierd connects with tls = { ca; cert;
# key; } and publishes; with the wrong CA it refuses the broker (the error in mqtt-status) and keeps serving.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
export WAIT_TIMEOUT=20
command -v openssl >/dev/null || fail "openssl is not installed"

PKI="$TMP/pki"
mkdir -p "$PKI"
ossl() { openssl "$@" >>"$PKI/openssl.log" 2>&1 || fail "openssl $1: $(tail -3 "$PKI/openssl.log")"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=portier test CA" -keyout "$PKI/ca.key" -out "$PKI/ca.pem"
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" -keyout "$PKI/other.key" -out "$PKI/other.pem"
printf 'subjectAltName=IP:127.0.0.1\n' >"$PKI/san.ext"
ossl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$PKI/broker.key" -out "$PKI/broker.csr"
ossl x509 -req -in "$PKI/broker.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
    -extfile "$PKI/san.ext" -out "$PKI/broker.pem"
ossl req -newkey rsa:2048 -nodes -subj "/CN=portier" -keyout "$PKI/client.key" -out "$PKI/client.csr"
ossl x509 -req -in "$PKI/client.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
    -out "$PKI/client.pem"
chmod 600 "$PKI"/*.key
# the same broker, its listener with TLS and client certificates
sed -i "s|^listener $BROKER_PORT 127.0.0.1\$|listener $BROKER_PORT 127.0.0.1\ncafile $PKI/ca.pem\ncertfile $PKI/broker.pem\nkeyfile $PKI/broker.key\nrequire_certificate true|" \
    "$MQ/mosquitto.conf"
broker_start
MQTT_EXTRA="tls = { ca = \"$PKI/ca.pem\"; cert = \"$PKI/client.pem\"; key = \"$PKI/client.key\"; };"
site_start
host_start
wait_for status_is connection connected || fail "no TLS connection: $(cat "$TMP/status.json" "$TMP/host.out" 2>/dev/null)"
tls_sub() { sub reader --cafile "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key" "$@"; }
[ "$(tls_sub -t portier/status -C 1 -W 5)" = online ] || fail "status not online over TLS"
tls_sub -t portier/output/main_entrance/state -C 1 -W 5 | grep -q '"sensor":"closed"' || fail "no door state over TLS"
pass "TLS with a client certificate and a password: connected, states retained"

# a broker certificate from another CA is refused; the daemon keeps serving its clients
host_stop
sed -i "s|ca = \"$PKI/ca.pem\"|ca = \"$PKI/other.pem\"|" "$CONF"
host_start
wait_for bash -c "grep -q '\"last_error\": \"[^\"]*[Tt][Ll][Ss]\\|certificate' '$TMP/status.json'" \
    || fail "a broker from another CA was not refused: $(cat "$TMP/status.json")"
[ "$(status connection)" != connected ] || fail "connected to a broker it cannot verify"
pass "a broker whose certificate another CA signed is refused (mqtt-status: $(status last_error))"

# a "broker" that accepts the connection and never answers the TLS handshake: the handshake does not block the
# daemon (its clients are answered all along) and is abandoned after 10 s
SILENT=$(free_port)
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $SILENT)); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
" &
PIDS+=($!)
wait_port "$SILENT" || fail "silent listener"
host_stop
sed -i "s|ca = \"$PKI/other.pem\"|ca = \"$PKI/ca.pem\"|; s|port = $BROKER_PORT;|port = $SILENT;|" "$CONF"
host_start
wait_for status_is connection connecting || fail "no handshake attempt: $(cat "$TMP/status.json" 2>/dev/null)"
T0=$SECONDS
n=0
while [ $((SECONDS - T0)) -lt 8 ]; do   # the daemon answers while the handshake hangs
    M=$(stat -c %y "$TMP/status.json")
    sleep 0.5
    [ "$(stat -c %y "$TMP/status.json")" != "$M" ] || fail "portierd stopped answering during the TLS handshake"
    n=$((n + 1))
done
# keepalive = 5 here: libmosquitto gives up after 1.5 keepalives, the bridge's own deadline is 10 s
WAIT_TIMEOUT=10 wait_for bash -c "grep -q '\"last_error\": \"[^\"]*no answer from the broker' '$TMP/status.json'" \
    || fail "a hanging handshake was not abandoned: $(cat "$TMP/status.json")"
pass "a broker that never answers the TLS handshake: portierd answered throughout ($n checks), the attempt was abandoned ($(status last_error))"

# Shared helpers for benches/*.sh (sourced, not run): build the release binaries and the bench
# tools, start the mock / a private Dovecot / the latency proxy, time commands, take medians.
# Everything listens on 127.0.0.1 only; everything started is stopped on exit.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ALICE=alice@contoso.example
TENANT_ID=8f0c2a55-5b1e-4c2b-9d3a-0c1f2e3d4a5b
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xoauth-bench.XXXXXX")
chmod 755 "$WORK"
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -s "$WORK/dovecot/run/master.pid" ]; then
        kill "$(cat "$WORK/dovecot/run/master.pid")" 2>/dev/null || true
        sleep 1.5
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# build: release xoauth, xoauth-mock and the bench tools; sets XOAUTH, MOCK, TOOLS.
build() {
    (cd "$ROOT" && cargo build --release -q -p xoauth -p xoauth-mock --bins)
    XOAUTH=$ROOT/target/release/xoauth
    MOCK=$ROOT/target/release/xoauth-mock
    TOOLS=$(cd "$ROOT" && cargo build --release -q --bench tools --message-format=json |
        grep -o '"executable":"[^"]*"' | grep '/tools-' | tail -1 | cut -d'"' -f4)
    [ -x "$TOOLS" ] || { log "bench tools did not build"; exit 2; }
}

# start_mock [ARGS...]: the mock on free ports; sources its env file (MOCK_HOST, MOCK_*_PORT, MOCK_CA).
start_mock() {
    "$MOCK" --ca-out "$WORK/mock-ca.pem" --env-out "$WORK/mock.env" "$@" > "$WORK/mock.log" 2>&1 &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    until [ -s "$WORK/mock.env" ]; do
        kill -0 "$MOCK_PID" || { cat "$WORK/mock.log" >&2; exit 2; }
        sleep 0.1
    done
    # shellcheck disable=SC1091
    . "$WORK/mock.env"
}

# mint_token: a delegated token for alice signed with the mock's fixed key (valid for the mock
# and for the Dovecot below); sets TOKEN and writes $WORK/token.
mint_token() {
    "$TOOLS" token "$ALICE" > "$WORK/token"
    TOKEN=$(cat "$WORK/token")
    export XOAUTH_TOKEN="$TOKEN"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    local i
    for i in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    log "nothing listens on 127.0.0.1:$1"; return 1
}

# start_dovecot: a private Dovecot 2.3 configured as tests/dovecot.rs does (tests/dovecot/*.conf,
# a CA and leaf for 127.0.0.1, the mock's signing key in the key dict, a Maildir for alice, a
# relay sink for submission). Needs root and /usr/sbin/dovecot. Sets DC_IMAPS, DC_POP3S,
# DC_SUBMISSION, DC_CA.
start_dovecot() {
    local d=$WORK/dovecot
    [ -x /usr/sbin/dovecot ] || { log "no /usr/sbin/dovecot"; return 1; }
    [ "$(id -u)" = 0 ] || { log "Dovecot needs root"; return 1; }
    mkdir -p "$d"/{run,state,log,keys/default/RS256,mail,tls}
    chmod 755 "$d"
    (
        cd "$d/tls"
        printf '[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n[dn]\nCN = xoauth bench CA\n[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n' > ca.cnf
        printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = 127.0.0.1\n' > leaf.cnf
        printf 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\nauthorityKeyIdentifier = keyid\n' > leaf.ext
        ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        openssl req -x509 -config ca.cnf -days 2 "${ec[@]}" -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -new -config leaf.cnf "${ec[@]}" -keyout server.key -out server.csr 2>/dev/null
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 4242 -days 2 \
            -extfile leaf.ext -out server.pem 2>/dev/null
        cat server.pem ca.pem > server-chain.pem
    )
    local key=$ROOT/mock-server/fixtures/idp-signing-key.pem kid
    kid=$(openssl rsa -in "$key" -RSAPublicKey_out -outform DER 2>/dev/null |
        openssl dgst -sha1 -binary | base64 | tr '+/' '-_' | tr -d '=')
    openssl rsa -in "$key" -pubout 2>/dev/null > "$d/keys/default/RS256/$kid"
    local m=$d/mail/$ALICE
    mkdir -p "$m"/{cur,new,tmp} "$m/.Sent"/{cur,new,tmp}
    touch "$m/.Sent/maildirfolder"
    printf 'From: Carol <carol@contoso.example>\r\nSubject: Test\r\n\r\nHello\r\n' \
        > "$m/cur/1700000001.M1P1.bench:2,S"
    chown -R nobody:nogroup "$d/mail"
    # The relay sink submission may connect to after AUTH.
    local sink
    sink=$(free_port)
    python3 - "$sink" > "$WORK/sink.log" 2>&1 <<'PY' &
import asyncio, sys
async def session(r, w):
    w.write(b"220 sink ESMTP\r\n")
    while True:
        line = await r.readline()
        if not line:
            break
        up = line.strip().upper()
        if up.startswith(b"EHLO") or up.startswith(b"LHLO"):
            w.write(b"250-sink\r\n250 PIPELINING\r\n")
        elif up == b"DATA":
            w.write(b"354 go\r\n")
            while (await r.readline()).strip() != b".":
                pass
            w.write(b"250 queued\r\n")
        elif up == b"QUIT":
            w.write(b"221 bye\r\n")
            break
        else:
            w.write(b"250 OK\r\n")
    w.close()
async def main():
    server = await asyncio.start_server(session, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
PY
    PIDS+=($!)
    DC_IMAP=$(free_port); DC_IMAPS=$(free_port); DC_POP3=$(free_port); DC_POP3S=$(free_port)
    DC_SUBMISSION=$(free_port)
    sed -e "s|@DIR@|$d|g" -e "s|@NAME@|xoauth-bench-$$|g" -e "s|@IMAP@|$DC_IMAP|" \
        -e "s|@IMAPS@|$DC_IMAPS|" -e "s|@POP3@|$DC_POP3|" -e "s|@POP3S@|$DC_POP3S|" \
        -e "s|@SUBMISSION@|$DC_SUBMISSION|" -e "s|@SINK@|$sink|" \
        -e 's|^auth_debug = yes|auth_debug = no|' -e 's|^auth_verbose = yes|auth_verbose = no|' \
        "$ROOT/tests/dovecot/dovecot.conf" > "$d/dovecot.conf"
    # Many short sessions from one IP in a benchmark: lift the per-IP limit.
    sed -i 's|^mail_max_userip_connections = .*|mail_max_userip_connections = 1000|' "$d/dovecot.conf"
    sed -e "s|@DIR@|$d|g" -e "s|@ISSUER@|https://sts.windows.net/$TENANT_ID/|" \
        -e 's|^debug = yes|debug = no|' \
        "$ROOT/tests/dovecot/dovecot-oauth2.conf.ext" > "$d/dovecot-oauth2.conf.ext"
    /usr/sbin/dovecot -c "$d/dovecot.conf" < /dev/null > /dev/null 2> "$d/log/start.err"
    for p in $DC_IMAPS $DC_POP3S $DC_SUBMISSION; do wait_port "$p"; done
    DC_CA=$d/tls/ca.pem
}

# The CA file and port of SERVER (mock or dovecot) for PROTO (imap, pop, smtp): sets `ca` and
# `port`.
endpoint() {
    if [ "$1" = mock ]; then
        ca=$MOCK_CA
        case $2 in imap) port=$MOCK_IMAPS_PORT ;; pop) port=$MOCK_POP3S_PORT ;; smtp) port=$MOCK_SMTP_PORT ;; esac
    else
        ca=$DC_CA
        case $2 in imap) port=$DC_IMAPS ;; pop) port=$DC_POP3S ;; smtp) port=$DC_SUBMISSION ;; esac
    fi
}

# start_proxy LISTEN_PORT TARGET_PORT RTT_MS
start_proxy() {
    "$TOOLS" proxy --listen "$1" --target "127.0.0.1:$2" --rtt-ms "$3" > "$WORK/proxy-$1.log" 2>&1 &
    PIDS+=($!)
    wait_port "$1"
}

# median: of the numbers on stdin.
median() {
    sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# measure N OUTFILE CMD...: runs CMD N times (output discarded; a failing run aborts). Writes
# each run's wall seconds to OUTFILE, one a line, and prints the mean CPU seconds per run
# (user+sys of the children, from bash `times`; no other process is started inside the loop, so
# only CMD is counted).
measure() {
    local n=$1 out=$2 i t0 t1; shift 2
    (
        walls=()
        for ((i = 0; i < n; i++)); do
            t0=$EPOCHREALTIME
            if ! "$@" > "$WORK/last.out" 2>&1; then
                log "FAILED: $*"; cat "$WORK/last.out" >&2; exit 1
            fi
            t1=$EPOCHREALTIME
            walls+=("$t0 $t1")
        done
        # A builtin with a redirection runs in this shell: `$(times)` would fork, and a fork
        # starts with zeroed child counters.
        times > "$WORK/times"
        cpu=$(tail -1 "$WORK/times")
        printf '%s\n' "${walls[@]}" | awk '{printf "%.6f\n", $2-$1}' > "$out"
        echo "$cpu" | awk -v n="$n" '{
            split($1, u, "m"); split($2, s, "m");
            printf "%.6f\n", (u[1]*60 + u[2] + s[1]*60 + s[2]) / n }'
    )
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "nan" }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.1f", a*1000 }'; }

# check_cmd TOOL PROTO SERVER PORT CA: sets CMD (an array) to one check by TOOL (xoauth|curl)
# of PROTO (imap|pop|smtp) against SERVER (mock|dovecot) at 127.0.0.1:PORT, with the token in
# $TOKEN (curl) / $XOAUTH_TOKEN (xoauth). IMAP and POP3 are implicit TLS, SMTP is submission
# with STARTTLS. What each does on the wire:
#   xoauth imap: AUTHENTICATE XOAUTH2, LIST, LOGOUT     curl imaps://H:P/: AUTHENTICATE, LIST "" *, LOGOUT
#   xoauth pop:  AUTH XOAUTH2, STAT, QUIT               curl pop3s://H:P/: AUTH, LIST, QUIT
#   xoauth smtp: EHLO, STARTTLS, EHLO, AUTH, QUIT       curl smtp://H:P -X NOOP --ssl-reqd: the same, then NOOP
# (curl has no "authenticate only" for SMTP: without a message it sends one command after AUTH;
# NOOP is the cheapest, one extra exchange curl pays and xoauth does not.)
check_cmd() {
    local tool=$1 proto=$2 server=$3 port=$4 ca=$5
    if [ "$tool" = xoauth ]; then
        CMD=("$XOAUTH" "$proto" --host 127.0.0.1 --port "$port" --ca-file "$ca" --user "$ALICE"
            --access-token-env XOAUTH_TOKEN --no-cache)
        [ "$server" = dovecot ] && CMD+=(--provider custom)
    else
        local url
        case $proto in
            imap) url=imaps://127.0.0.1:$port/ ;;
            pop) url=pop3s://127.0.0.1:$port/ ;;
            smtp) url=smtp://127.0.0.1:$port ;;
        esac
        CMD=(curl -sS --fail --oauth2-bearer "$TOKEN" --login-options AUTH=XOAUTH2 -u "$ALICE:"
            --cacert "$ca" "$url")
        [ "$proto" = smtp ] && CMD+=(--ssl-reqd -X NOOP)
    fi
    return 0
}

#!/usr/bin/env bash
# Benchmark (a) of issue 13: one IMAP / POP3 / SMTP check on loopback, xoauth (release binary)
# vs curl, against the mock and against a private Dovecot 2.3 (configured as tests/dovecot.rs
# does; skipped without root or /usr/sbin/dovecot). Both tools get the same delegated token for
# alice (no token request is timed). Per tool and protocol: median wall time of N runs and mean
# CPU (user+sys) per run; prints a Markdown table with the ratios xoauth/curl and the load average.
#
# Usage: benches/single.sh [N]        (N runs per cell, default 30; env N works too)
# The machine may be shared: read the load average next to each row, and compare medians only
# within one run of this script.
source "$(dirname "$0")/lib.sh"
N=${1:-${N:-30}}

build
start_mock
mint_token
servers=(mock)
if start_dovecot; then servers+=(dovecot); else log "Dovecot rows skipped"; fi

echo "| server | protocol | xoauth wall ms (median) | curl wall ms (median) | wall ratio x/c | xoauth CPU ms (mean) | curl CPU ms (mean) | CPU ratio x/c | load avg |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for server in "${servers[@]}"; do
    for proto in imap pop smtp; do
        endpoint "$server" "$proto"
        load=$(loadavg)
        declare -A wall cpu
        # Interleave the tools in blocks, so slow phases of a shared machine hit both alike.
        for tool in xoauth curl; do
            check_cmd "$tool" "$proto" "$server" "$port" "$ca"
            "${CMD[@]}" > /dev/null 2>&1 || { log "$tool $proto $server fails:"; "${CMD[@]}" >&2 || true; exit 1; }
            cpu[$tool]=$(measure "$N" "$WORK/w-$tool" "${CMD[@]}")
            wall[$tool]=$(median < "$WORK/w-$tool")
        done
        echo "| $server | $proto | $(ms "${wall[xoauth]}") | $(ms "${wall[curl]}") | $(ratio "${wall[xoauth]}" "${wall[curl]}") | $(ms "${cpu[xoauth]}") | $(ms "${cpu[curl]}") | $(ratio "${cpu[xoauth]}" "${cpu[curl]}") | $load |"
    done
done
echo
echo "N=$N runs per cell; $(nproc) CPUs; load average at the end: $(loadavg)"

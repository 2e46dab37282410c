#!/usr/bin/env bash
# legacy_auth.sh — time and peak RSS of `xoauth legacy-auth` over generated sign-in exports
# (CSV and Graph JSON) of N rows, to show memory stays flat as the file grows.
# Usage: benches/legacy_auth.sh [ROWS...]   (default: 100000 1000000)
# Needs python3 and /usr/bin/time. Uses target/release/xoauth if built, else target/debug.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/xoauth
[ -x "$bin" ] || bin=target/debug/xoauth
[ -x "$bin" ] || { echo "build xoauth first (cargo build)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(100000 1000000)
echo "| rows | format | size | wall | peak RSS |"
echo "|---:|---|---:|---:|---:|"
for n in "${rows[@]}"; do
  python3 - "$n" "$dir" <<'PY'
import json, sys
n, d = int(sys.argv[1]), sys.argv[2]
apps = ["IMAP4", "POP3", "Authenticated SMTP", "Exchange ActiveSync", "Browser"]
with open(f"{d}/s.csv", "w") as c, open(f"{d}/s.json", "w") as j:
    c.write("Date (UTC),Request ID,User,Username,Application,IP address,Status,Sign-in error code,Failure reason,Client app\n")
    j.write('{"value":[\n')
    for i in range(n):
        u, ok = i % 200, i % 3 != 0
        t = f"2025-11-{1 + i % 28:02}T{i % 24:02}:{i % 60:02}:00Z"
        ip = f"10.0.{(i // 7) % 4}.{i % 50}"
        c.write(f"{t},req-{i},User {u},user{u}@contoso.com,Mail,{ip},{'Success' if ok else 'Failure'},{0 if ok else 50126},,{apps[i % 5]}\n")
        o = {"createdDateTime": t, "userPrincipalName": f"user{u}@contoso.com", "appDisplayName": "Mail",
             "ipAddress": ip, "clientAppUsed": apps[i % 5], "status": {"errorCode": 0 if ok else 50126}}
        j.write(("," if i else "") + json.dumps(o) + "\n")
    j.write("]}\n")
PY
  for f in csv json; do
    out=$( { /usr/bin/time -v "$bin" legacy-auth --file "$dir/s.$f" --json >/dev/null; } 2>&1 )
    wall=$(grep -F 'Elapsed (wall clock)' <<<"$out" | awk '{print $NF}')
    rss=$(grep -F 'Maximum resident set size' <<<"$out" | awk '{print $NF}')
    size=$(du -h "$dir/s.$f" | cut -f1)
    echo "| $n | $f | $size | $wall | ${rss} KB |"
  done
done

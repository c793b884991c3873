#!/usr/bin/env bash
# SIPp-driven load test of the contact center (issue 4 item 8): the time from
# a caller entering a queue to the agent's phone receiving the offer's INVITE
# (target: p99 under 5 ms at 200 new calls/s).
#
#   sipp caller (uac, 127.0.0.1:5170) --INVITE 7000--> switchboard external 127.0.0.1:5180
#       dial plan: 7000 -> queue "load" (longest-idle, accept auto, wrap-up 0 s)
#   sipp agents' phones (uas, 127.0.0.1:5190) <--INVITE-- switchboard internal 127.0.0.1:5160
#
# Setup: copies sip-profiles/loadtest-acd and appends AGENTS agents to it
# (extensions 2000.., each a directory user with a desktop token), registers
# every extension from the agent UAS's port (benches/load/acd/register.py,
# digest auth), logs every agent in as Available through the desktop API
# (POST /agent/login on 127.0.0.1:8188), then starts one SIPp UAS for all the
# phones (acd/agent.xml: answers each offer at once, waits for the BYE).
#
# Run: the caller (acd/caller.xml) places RATE calls/s for SECS seconds, each
# talking CALL_MS ms then hanging up. RATE x (CALL_MS/1000 + set-up) must stay
# well under AGENTS, so every call finds an Available agent at once.
#
# The figure: the caller SIPp writes the time it composes each INVITE
# ([timestamp], microseconds, just before the send) into the Subject; the
# switch copies the Subject (and the From user "c<call number>") into the
# agent's INVITE, and the agent SIPp logs that with its receipt time. One
# host, one clock: the difference is enqueue -> agent INVITE received, the
# switch's work plus two loopback hops plus SIPp's own parsing (if anything
# an over-estimate). Prints p50/p95/p99/max over every call of the run, the
# calls attempted, succeeded and failed, and the switch's CPU (share of one
# core) and RSS. The result line starts with RESULT:.
#
# Usage: benches/load/acd_load.sh   (options via env)
#   RATE=200  SECS=60  AGENTS=500  CALL_MS=1000  KEEP=1 (keep the logs)
# Needs: sipp (Debian package sip-tester), python3, a release build (built
# here). Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${RATE:-200}
SECS=${SECS:-60}
AGENTS=${AGENTS:-500}
CALL_MS=${CALL_MS:-1000}
BUF=4194304
EXT=127.0.0.1:5180
INT=127.0.0.1:5160
API=127.0.0.1:8188
UAS_PORT=5190
UAC_PORT=5170
scen=$root/benches/load/acd

command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 2; }
[ "$AGENTS" -ge 1 ] && [ "$AGENTS" -le 7000 ] || { echo "AGENTS must be 1..7000" >&2; exit 2; }
[ $((RATE * (CALL_MS + 500) / 1000)) -lt "$AGENTS" ] \
  || echo "note: RATE x (CALL_MS + 0.5 s) >= AGENTS: calls will wait for a free agent" >&2
sysctl -w net.core.rmem_max=$BUF net.core.wmem_max=$BUF >/dev/null 2>&1 || echo "note: could not raise net.core.rmem_max (not root?)" >&2

(cd "$root" && cargo build --release --quiet)
bin=${CARGO_TARGET_DIR:-$root/target}/release/switchboard

work=$(mktemp -d)
cleanup() {
  [ -n "${uas_pid:-}" ] && kill "$uas_pid" 2>/dev/null || true
  [ -n "${sw_pid:-}" ] && kill "$sw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The config: the committed queue plus AGENTS agents, and the phones' CSV.
cp -a "$root/sip-profiles/loadtest-acd" "$work/cfg"
python3 - "$work" "$AGENTS" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/cfg/directory.toml", "a") as d, open(f"{work}/cfg/acd.toml", "a") as a, \
        open(f"{work}/users.csv", "w") as u, open(f"{work}/tokens", "w") as t:
    u.write("SEQUENTIAL\n")
    for i in range(n):
        ext = 2000 + i
        d.write(f'\n[[user]]\nextension = "{ext}"\npassword = "load-pw-{ext}"\n')
        token = f"load-token-{ext}-benchmark"
        a.write(f'\n[[agent]]\nid = "a{ext}"\nname = "Load Agent {ext}"\nteam = "load"\n'
                f'extension = "{ext}"\nskills = {{ load = 5 }}\ntoken = "{token}"\n')
        u.write(f"{ext};load-pw-{ext}\n")
        t.write(token + "\n")
PY
"$bin" check --config "$work/cfg" >/dev/null

"$bin" run --config "$work/cfg" --data-dir "$work/data" --sip-listen "external=$EXT" \
  --sip-listen "internal=$INT" --api-listen "$API" >"$work/switch.log" 2>&1 &
sw_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket,sys; socket.create_connection(('${API%:*}', ${API#*:}), 0.2)" 2>/dev/null && break
  kill -0 "$sw_pid" 2>/dev/null || { cat "$work/switch.log"; exit 1; }
  sleep 0.2
done

# Every phone registers from the agent UAS's port (offers go to the source).
python3 "$scen/register.py" "$INT" "127.0.0.1:$UAS_PORT" "$work/users.csv" >"$work/register.log" 2>&1 \
  || { echo "registering the $AGENTS phones failed:" >&2; cat "$work/register.log" >&2; exit 1; }

# Every agent logs in as Available (desktop API, AGENT-1).
python3 - "$API" "$work/tokens" <<'PY'
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=10)
bad = 0
for token in open(sys.argv[2]).read().split():
    conn.request("POST", "/agent/login", body='{"state": "available"}',
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        bad += 1
        if bad < 5:
            print(f"login refused: {r.status} {body[:200]!r}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

sipp -sf "$scen/agent.xml" -i 127.0.0.1 -p "$UAS_PORT" -buff_size $BUF -nostdin -max_socket 65000 \
  -trace_logs -log_file "$work/agents.log" >"$work/uas.log" 2>&1 &
uas_pid=$!
sleep 1
kill -0 "$sw_pid" || { cat "$work/switch.log"; exit 1; }
kill -0 "$uas_pid" || { echo "the agent UAS stopped:" >&2; cat "$work/uas.log" >&2; exit 1; }

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$sw_pid/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$sw_pid/status"; }

n=$((RATE * SECS))
t0=$(cpu_ticks); s0=$(date +%s.%N)
timeout $((SECS * 3 + 60)) sipp -sf "$scen/caller.xml" "$EXT" -i 127.0.0.1 -p "$UAC_PORT" -r "$RATE" -m "$n" -l $((RATE * 10)) \
  -d "$CALL_MS" -buff_size $BUF -nostdin -max_socket 65000 -timeout $((SECS * 3 + 30))s \
  -trace_logs -log_file "$work/caller.log" -trace_err -error_file "$work/caller_err.log" -trace_stat -stf "$work/stat.csv" -fd 1 \
  >"$work/uac.log" 2>&1 || true
t1=$(cpu_ticks); s1=$(date +%s.%N)
rss=$(( $(rss_kb) / 1024 ))
cpu=$(python3 -c "print(round(100*($t1-$t0)/$hz/($s1-$s0),1))")
sleep 1
kill -USR1 "$uas_pid" 2>/dev/null || true
sleep 1

python3 - "$work" "$n" "$cpu" "$rss" "$RATE" "$SECS" "$AGENTS" <<'PY'
import csv, sys
work, n, cpu, rss, rate, secs, agents = sys.argv[1:8]
rows = list(csv.reader(open(f"{work}/stat.csv"), delimiter=';'))
head, last = rows[0], rows[-1]
col = lambda name: last[head.index(name)]
ok, failed = int(col('SuccessfulCall(C)')), int(col('FailedCall(C)'))
retrans, achieved = col('Retransmissions(C)'), col('CallRate(C)')
sent = set()
for line in open(f"{work}/caller.log"):
    p = line.split()
    if len(p) >= 2 and p[0] == "TX":
        sent.add(p[1])
# "RX c<call> <date> <time> <received epoch> <sent epoch> ...": both times
# on one line (the switch copied the caller's Subject into the offer).
lat, seen = [], 0
for line in open(f"{work}/agents.log"):
    p = line.split()
    if len(p) >= 6 and p[0] == "RX" and p[1][1:] in sent:
        seen += 1
        lat.append((float(p[4]) - float(p[5])) * 1000.0)
lat.sort()
def pct(q):
    return lat[min(len(lat) - 1, max(0, int(-(-q * len(lat) // 100)) - 1))]
print(f"calls: attempted {len(sent)} of {n}, successful {ok}, failed {failed}, SIPp retransmissions {retrans}, "
      f"achieved rate {achieved} calls/s; agent INVITEs received {seen}")
print(f"switch: CPU {cpu}% of one core, RSS {rss} MiB")
if not lat:
    print("RESULT: no agent INVITE was received: see the switch log", file=sys.stderr)
    sys.exit(1)
print(f"enqueue -> agent INVITE (ms): p50 {pct(50):.3f}  p95 {pct(95):.3f}  p99 {pct(99):.3f}  max {lat[-1]:.3f}")
print(f"RESULT: queue to agent phone INVITE at {rate} calls/s for {secs} s, {agents} agents: "
      f"p99 {pct(99):.2f} ms (p50 {pct(50):.2f}, max {lat[-1]:.2f}; {len(lat)} calls, {failed} failed; "
      f"switch CPU {cpu}% of one core, RSS {rss} MiB)")
PY

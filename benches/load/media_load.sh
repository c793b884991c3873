#!/usr/bin/env bash
# Media load test (issue 3 item 10): holds CALLS relayed G.711 calls through
# the anchoring switch and reports packets forwarded, loss, and the switch's
# CPU per call.
#
#   examples/media_load (caller: UAC + one RTP socket for every caller)
#       --INVITE PCMU-->  switchboard (loadtest profile, [media] anchor = true, 127.0.0.1:5080)
#       --INVITE------->  examples/media_load (callee: UAS on 127.0.0.1:5090 + one RTP socket)
#   then 20 ms PCMU packets both ways for every call for HOLD_S seconds, then BYE.
#
# The generator sets the calls up at CPS calls/s, sends one 160-byte packet
# per call and direction every 20 ms tick (one paced sender thread per
# direction, batched per tick), checks every payload byte of what the switch
# forwards (each packet names its call and number), and reads the switch's
# CPU time from /proc/<pid>/stat at the start and the end of the hold (no
# signalling then: the figure is the relay's), with the receive-buffer drops
# of every socket involved (/proc/net/udp) to say where a loss happened.
# Targets on the 2-core machine: 1,000 concurrent relayed calls with loss
# under 0.1 %, CPU per relayed call under 0.1 % of a core. On loopback the
# kernel's delivery of a packet is charged to its sender: the switch's
# figure includes delivering what it relays into the generator's sockets.
#
# Usage: benches/load/media_load.sh            (options via env)
#   CALLS=1000  HOLD_S=30  CPS=200  SIP_PORT=5080  UAS_PORT=5090  API_PORT=18088
# Needs: a release build (built here; honours CARGO_TARGET_DIR and
# CARGO_BUILD_JOBS). Everything runs on 127.0.0.1 and stops by itself. The
# last line is the summary (RESULT: ...).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
CALLS=${CALLS:-1000}
HOLD_S=${HOLD_S:-30}
CPS=${CPS:-200}
SIP_PORT=${SIP_PORT:-5080}
UAS_PORT=${UAS_PORT:-5090}
API_PORT=${API_PORT:-18088}
BUF=8388608
RTP_LO=16384
RTP_HI=$((RTP_LO + 4 * CALLS + 1023)) # RTP + RTCP on two legs per call, and spare
[ "$RTP_HI" -le 65535 ] || { echo "CALLS too large for one port range" >&2; exit 2; }
eph_lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)
[ "$RTP_HI" -lt "$eph_lo" ] || echo "note: rtp_ports $RTP_LO-$RTP_HI overlaps the ephemeral range (from $eph_lo)" >&2

sysctl -w net.core.rmem_max=$BUF net.core.wmem_max=$BUF >/dev/null 2>&1 ||
  echo "note: could not raise net.core.rmem_max (not root?)" >&2

(cd "$root" && cargo build --release --quiet --bin switchboard --example media_load)
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/switchboard
gen=$target/release/examples/media_load

work=$(mktemp -d)
cleanup() {
  [ -n "${sw_pid:-}" ] && kill "$sw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A temp copy of the load-test profile with anchoring on and enough ports.
cp -r "$root/sip-profiles/loadtest" "$work/config"
sed -i -e "s/^anchor = false\$/anchor = true/" \
  -e "s/^rtp_ports = .*/rtp_ports = \"$RTP_LO-$RTP_HI\"/" "$work/config/switchboard.toml"
sed -i -e "s/127\.0\.0\.1:5080/127.0.0.1:$SIP_PORT/" "$work/config/external.toml"
sed -i -e "s/127\.0\.0\.1:5090/127.0.0.1:$UAS_PORT/" "$work/config/trunks.toml"
grep -q '^anchor = true$' "$work/config/switchboard.toml" || { echo "could not enable anchoring" >&2; exit 2; }
"$bin" check --config "$work/config" >/dev/null

"$bin" run --config "$work/config" --data-dir "$work/data" \
  --sip-listen internal=127.0.0.1:15060 --api-listen "127.0.0.1:$API_PORT" --log-format json >"$work/switch.log" 2>&1 &
sw_pid=$!
sleep 1
kill -0 "$sw_pid" || { cat "$work/switch.log"; exit 1; }

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$sw_pid/status"; }
rss0=$(rss_kb)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
status=0
"$gen" --calls "$CALLS" --hold-s "$HOLD_S" --cps "$CPS" \
  --switch "127.0.0.1:$SIP_PORT" --uas "127.0.0.1:$UAS_PORT" \
  --switch-pid "$sw_pid" --clk-tck "$(getconf CLK_TCK)" | tee "$work/gen.log" || status=$?
rss1=$(rss_kb)
kill -0 "$sw_pid" || { echo "the switch died:"; tail -50 "$work/switch.log"; exit 1; }
errors=$(grep -c -E '"level":"(ERROR|WARN)"' "$work/switch.log" || true)
echo "switch: RSS idle $((rss0 / 1024)) MiB, after the run $((rss1 / 1024)) MiB; $errors warning/error log lines"
[ "$errors" = 0 ] || grep -E '"level":"(ERROR|WARN)"' "$work/switch.log" | head -5
grep '^RESULT:' "$work/gen.log" | tail -1
exit "$status"

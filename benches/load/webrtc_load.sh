#!/usr/bin/env bash
# WebRTC load test (issue 12 item 5): holds CALLS calls with WebRTC legs
# through the anchoring switch and reports the switch's CPU per call and per
# WebRTC leg, its ICE + DTLS-SRTP set-up per leg, and packet loss.
#
#   MODE=relay      browser (SIP/UDP, WebRTC Opus) --> switch --> browser
#                   (user 2000 over SIP-over-WebSocket, WebRTC Opus): SRTP
#                   on both legs, Opus relayed with re-encryption only
#   MODE=transcode  browser (SIP/UDP, WebRTC Opus) --> switch --> G.711
#                   trunk (PCMU): SRTP and Opus <-> PCMU on the switch
#
# The generator (examples/webrtc_load) plays the browsers with the switch's
# own client-side ICE/DTLS/SRTP code, checks every relayed payload byte and
# reads the switch's CPU from /proc/<pid>/stat around the connect phase and
# the hold (no signalling then). On loopback the kernel's delivery of a
# packet is charged to its sender.
#
# Usage: benches/load/webrtc_load.sh           (options via env)
#   MODE=relay  CALLS=200  HOLD_S=30  CPS=100  SIP_PORT=5080  WS_PORT=5066
#   UAS_PORT=5090  API_PORT=18089  KEEP_LOG=<file for the switch's log>
# Needs: a release build (built here; honours CARGO_TARGET_DIR and
# CARGO_BUILD_JOBS). Everything runs on 127.0.0.1 and stops by itself. The
# last line is the summary (RESULT: ...).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
MODE=${MODE:-relay}
CALLS=${CALLS:-200}
HOLD_S=${HOLD_S:-30}
CPS=${CPS:-100}
SIP_PORT=${SIP_PORT:-5080}
WS_PORT=${WS_PORT:-5066}
UAS_PORT=${UAS_PORT:-5090}
API_PORT=${API_PORT:-18089}
BUF=8388608
RTP_LO=16384
RTP_HI=$((RTP_LO + 4 * CALLS + 1023)) # one port per WebRTC leg (rtcp-mux), pairs reserved, and spare
case "$MODE" in relay | transcode) ;; *) echo "MODE must be relay or transcode" >&2; exit 64 ;; esac
# shellcheck source=lib/anchored.sh
. "$root/benches/load/lib/anchored.sh"

raise_socket_buffers $BUF
build_switch_and webrtc_load
anchored_config "$RTP_LO" "$RTP_HI" "$SIP_PORT"
# The callee browser: a WebSocket listener on the internal profile, user
# 2000, and a route to it ahead of the trunk.
cfg=$work/config
sed -i -e "s/127\.0\.0\.1:5090/127.0.0.1:$UAS_PORT/" "$cfg/trunks.toml"
sed -i -e 's/^transports = .*/transports = ["udp", "tcp", "ws"]/' "$cfg/internal.toml"
printf '\nws_listen = ["127.0.0.1:%s"]\n' "$WS_PORT" >>"$cfg/internal.toml"
printf '\n[[user]]\nextension = "2000"\npassword = "load-2000"\ndisplay_name = "Browser load"\n' >>"$cfg/directory.toml"
{
  grep '^default_no_answer_timeout_s' "$cfg/dialplan.toml"
  printf '\n[[context.loadtest]]\nname = "the load browser"\nmatch = { exact = "2000" }\naction = "user"\n\n'
  grep -v '^default_no_answer_timeout_s' "$cfg/dialplan.toml"
} >"$cfg/dialplan.new" && mv "$cfg/dialplan.new" "$cfg/dialplan.toml"
start_switch "$API_PORT"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
status=0
"$gen" --mode "$MODE" --calls "$CALLS" --hold-s "$HOLD_S" --cps "$CPS" \
  --switch "127.0.0.1:$SIP_PORT" --ws "127.0.0.1:$WS_PORT" --uas "127.0.0.1:$UAS_PORT" \
  --switch-pid "$sw_pid" --clk-tck "$(getconf CLK_TCK)" | tee "$work/gen.log" || status=$?
switch_report "$work/gen.log"
exit "$status"

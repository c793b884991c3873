# Shared steps of the anchored-media load scripts (media_load.sh,
# conference_load.sh, webrtc_load.sh): build, a temporary copy of the
# load-test profile with anchoring on, the switch started on it, and the
# switch's report at the end. Source it after setting `root` (the repo);
# it uses `set -euo pipefail` like its callers.
#
#   raise_socket_buffers BYTES     net.core.{r,w}mem_max, best effort
#   build_switch_and EXAMPLE       release build; sets $bin and $gen
#   anchored_config LO HI SIP_PORT $work (removed at exit, the switch
#                                  stopped; KEEP_LOG=<file> keeps its log)
#                                  and $work/config: sip-profiles/loadtest
#                                  with anchor = true, rtp_ports LO-HI, the
#                                  external profile on SIP_PORT
#   start_switch API_PORT          runs $bin on $work/config (after the
#                                  words of the array `prio`, if set), its
#                                  JSON log in $work/switch.log; sets
#                                  $sw_pid and $rss0
#   switch_report GEN_LOG          after the generator: fails if the switch
#                                  died, prints its RSS and warning lines,
#                                  then the generator's RESULT line

raise_socket_buffers() {
  sysctl -w net.core.rmem_max="$1" net.core.wmem_max="$1" >/dev/null 2>&1 ||
    echo "note: could not raise net.core.rmem_max (not root?)" >&2
}

build_switch_and() {
  (cd "$root" && cargo build --release --quiet --bin switchboard --example "$1")
  local target=${CARGO_TARGET_DIR:-$root/target}
  bin=$target/release/switchboard
  gen=$target/release/examples/$1
}

anchored_cleanup() {
  [ -n "${sw_pid:-}" ] && kill "$sw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "${KEEP_LOG:-}" ] || cp "$work/switch.log" "$KEEP_LOG" 2>/dev/null || true
  rm -rf "$work"
}

anchored_config() {
  local lo=$1 hi=$2 sip_port=$3
  [ "$hi" -le 65535 ] || { echo "too many ports for one range ($lo-$hi)" >&2; exit 2; }
  local eph_lo
  eph_lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range)
  [ "$hi" -lt "$eph_lo" ] || echo "note: rtp_ports $lo-$hi overlaps the ephemeral range (from $eph_lo)" >&2
  work=$(mktemp -d)
  trap anchored_cleanup EXIT
  cp -r "$root/sip-profiles/loadtest" "$work/config"
  sed -i -e "s/^anchor = false\$/anchor = true/" \
    -e "s/^rtp_ports = .*/rtp_ports = \"$lo-$hi\"/" "$work/config/switchboard.toml"
  sed -i -e "s/127\.0\.0\.1:5080/127.0.0.1:$sip_port/" "$work/config/external.toml"
  grep -q '^anchor = true$' "$work/config/switchboard.toml" || { echo "could not enable anchoring" >&2; exit 2; }
}

start_switch() {
  "$bin" check --config "$work/config" >/dev/null
  ${prio+"${prio[@]}"} "$bin" run --config "$work/config" --data-dir "$work/data" \
    --sip-listen internal=127.0.0.1:15060 --api-listen "127.0.0.1:$1" --log-format json >"$work/switch.log" 2>&1 &
  sw_pid=$!
  sleep 1
  kill -0 "$sw_pid" || { cat "$work/switch.log"; exit 1; }
  rss0=$(rss_kb)
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$sw_pid/status"; }

switch_report() {
  kill -0 "$sw_pid" || { echo "the switch died:"; tail -50 "$work/switch.log"; exit 1; }
  local rss1 errors
  rss1=$(rss_kb)
  errors=$(grep -c -E '"level":"(ERROR|WARN)"' "$work/switch.log" || true)
  echo "switch: RSS idle $((rss0 / 1024)) MiB, after the run $((rss1 / 1024)) MiB; $errors warning/error log lines"
  [ "$errors" = 0 ] || grep -E '"level":"(ERROR|WARN)"' "$work/switch.log" | head -5
  grep '^RESULT:' "$1" | tail -1
}

#!/usr/bin/env bash
# Ricevo next to Janus (Debian's janus 1.1.x, VideoRoom plugin), on this machine, in one run.
#
#   bench/compare-janus.sh [--runs N] [--warmup N] [--only ricevo,janus-demo,janus-minimal,forwarding] [--out DIR]
#                          [--janus-bitrate BPS]   (cap in Janus's rooms; default 0 = none, as Ricevo)
#   forwarding cost options: [--fwd-steps "10 25 50 75 100"] [--fwd-seconds 15] [--fwd-warmup 5]
#                          [--fwd-participants 2] [--fwd-threads 2]
#   bench/compare-janus.sh --ricevo-bin PATH ...  (measure a given ricevo binary, no build)
#   bench/compare-janus.sh --hold SECONDS   (start both servers in the namespace and wait, to look around)
#
# What it does, in order:
#   1. installs what is missing from Debian (janus, janus-demos, chromium, chromium-driver) and
#      from npm (puppeteer-core, bench/package.json), and builds Ricevo (release);
#   2. creates a private network namespace with a veth pair holding 198.18.0.1/24 and
#      198.18.0.2/24: both servers, the browser and the web server for Janus's pages run inside
#      it, so all traffic stays there (Janus's ICE will not offer 127.0.0.1, hence the veth);
#   3. starts Janus with a configuration written to a temporary folder (only the VideoRoom
#      plugin, HTTP and WebSocket transports on 198.18.0.1, ICE restricted to the veth) and
#      Ricevo (the demo town, media announced on 198.18.0.1);
#   4. runs the workloads: time to first remote video frame and page weight, in headless
#      Chromium with a fake camera (bench/browser/compare.mjs); forwarding cost, with the SFU
#      load generator (`ricevo-bench media`, str0m clients) against each server in turn at three
#      loads (see workload_forwarding);
#   5. stops both, removes the namespace, prints one table (also written to DIR/table.md, with
#      the raw numbers in DIR/results.json; DIR defaults to target/compare-janus).
#
# Needs root (network namespaces, apt-get). Every wait is bounded; everything it starts is
# stopped on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RUNS=20
WARMUP=1
ONLY=""
RICEVO_BIN=""             # --ricevo-bin PATH: measure this binary instead of building one
QUIET_WAIT=${QUIET_WAIT:-300}   # seconds to wait at most for a busy machine to calm down
HOLD=0                     # --hold S: start everything, then wait S seconds instead of measuring
OUT="$ROOT/target/compare-janus"
# The packaged demo room (1234) caps publishers at 128 kbit/s (REMB); Ricevo caps nobody and
# lets the bandwidth estimate decide. Our rooms follow Ricevo (0 = no cap) unless told otherwise,
# since the size of the keyframe a new participant waits for depends on it.
JANUS_BITRATE=${JANUS_BITRATE:-0}   # --janus-bitrate B
# Forwarding cost: meetings tried on Janus, in order, to find the highest load it holds with
# under 1% loss; the length of each measuring window and of the warm-up before it (seconds);
# participants per meeting; the load generator's threads.
FWD_STEPS="10 25 50 75 100"
FWD_SECONDS=15
FWD_WARMUP=5
FWD_PARTICIPANTS=2
FWD_THREADS=2
# The clients' address. Both ends of the veth are in the one namespace, so every packet goes
# over its loopback whatever the address; Janus (libnice, with ice_enforce_list on rcmp0)
# answered no connectivity checks from 198.18.0.2 there, so the clients of both servers use
# 198.18.0.1 too.
FWD_BIND=198.18.0.1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --ricevo-bin) RICEVO_BIN=$2; shift 2 ;;
    --janus-bitrate) JANUS_BITRATE=$2; shift 2 ;;
    --fwd-steps) FWD_STEPS=$2; shift 2 ;;
    --fwd-seconds) FWD_SECONDS=$2; shift 2 ;;
    --fwd-warmup) FWD_WARMUP=$2; shift 2 ;;
    --fwd-participants) FWD_PARTICIPANTS=$2; shift 2 ;;
    --fwd-threads) FWD_THREADS=$2; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# What to run: the browser pages named in --only (all when --only is not given), and the
# forwarding cost when --only names "forwarding" or is not given.
BROWSER_PAGES=""
RUN_BROWSER=1
RUN_FORWARDING=1
if [ -n "$ONLY" ]; then
  BROWSER_PAGES=$(tr ',' '\n' <<<"$ONLY" | grep -vx forwarding | paste -sd, - || true)
  [ -n "$BROWSER_PAGES" ] || RUN_BROWSER=0
  [[ ",$ONLY," == *,forwarding,* ]] || RUN_FORWARDING=0
fi
BENCH_BIN=$ROOT/target/release/ricevo-bench

# The test network: a /24 from the benchmarking range (RFC 2544), private to the namespace.
NS="ricevo-cmp-$$"
IF_SERVER=rcmp0            # holds 198.18.0.1: both servers
IF_PEER=rcmp1              # holds 198.18.0.2: the other end of the veth pair
ADDR=198.18.0.1
RICEVO_HTTP=$ADDR:8080
RICEVO_UDP=$ADDR:3479
JANUS_HTTP_PORT=8088       # the packaged demo's settings.js expects these two ports
JANUS_WS_PORT=8188
PAGES=$ADDR:8090           # our web server for Janus's pages
JANUS_ROOM_BASE=3000       # rooms 3000.. are written into Janus's configuration, one per run
JANUS_ROOMS=$(( (RUNS + WARMUP) * 2 + 10 ))

WORK=$(mktemp -d /tmp/ricevo-cmp.XXXXXX)
PIDS=()

log() { printf '%s\n' "compare-janus: $*" >&2; }
in_ns() { ip netns exec "$NS" "$@"; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Our own processes first, then anything still running in our namespace (only ours can be).
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if ip netns list 2>/dev/null | grep -qw "$NS"; then
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break; sleep 0.1; done
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
  fi
  rm -rf "/etc/netns/$NS"
  if [ $status -ne 0 ] && [ -d "$WORK" ]; then
    log "failed; logs kept in $WORK (janus.log, ricevo.log, browser.log)"
  else
    rm -rf "$WORK"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # long steps run in the background with `wait`, so this fires at once

# ---- 1. What it needs -------------------------------------------------------------------------

install_missing() {
  [ "$(id -u)" = 0 ] || { echo "compare-janus.sh needs root (network namespaces, apt-get)" >&2; exit 1; }
  local need=()
  command -v janus >/dev/null 2>&1 || need+=(janus)
  [ -f /usr/share/janus/demos/videoroomtest.html ] || need+=(janus-demos)
  if [ $RUN_BROWSER = 1 ]; then
    command -v chromium >/dev/null 2>&1 || need+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
    command -v node >/dev/null 2>&1 || need+=(nodejs npm)
  fi
  command -v curl >/dev/null 2>&1 || need+=(curl)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]} (Debian packages)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # (The package's own system service, where systemd starts it, listens outside our namespace.)
  if [ $RUN_BROWSER = 1 ] && [ ! -f bench/node_modules/puppeteer-core/package.json ]; then
    log "installing puppeteer-core (npm, bench/package.json)"
    (cd bench && npm ci --no-audit --no-fund --silent)
  fi
  local packages=()
  [ -z "$RICEVO_BIN" ] && packages+=(-p ricevo)
  [ $RUN_FORWARDING = 1 ] && packages+=(-p ricevo-bench)
  if [ ${#packages[@]} -gt 0 ]; then
    log "building ${packages[*]} (release)"
    cargo build --release -q "${packages[@]}"
  fi
  [ -n "$RICEVO_BIN" ] || RICEVO_BIN=$ROOT/target/release/ricevo
}

# Another benchmark on the same two cores would spoil both: wait (bounded) while one runs, then
# (bounded again) for the machine to calm down; the load is reported with the results.
wait_for_quiet_machine() {
  local waited=0
  # (A load generator itself, not one queued behind `flock` for a lock this run may hold.)
  while pgrep -f '^[^ ]*ricevo-bench media' >/dev/null 2>&1; do
    [ $waited -eq 0 ] && log "another benchmark (ricevo-bench media) is running; waiting for it to finish"
    sleep 10
    waited=$((waited + 10))
    if [ $waited -ge 1800 ]; then log "it still runs after 30 minutes; going on anyway"; break; fi
  done
  waited=0
  while awk -v max="$(nproc)" '{ exit !($1 > max * 0.5) }' /proc/loadavg; do
    [ $waited -eq 0 ] && log "load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs; waiting up to ${QUIET_WAIT}s for it to drop"
    sleep 10
    waited=$((waited + 10))
    if [ $waited -ge "$QUIET_WAIT" ]; then log "still busy (load $(cut -d' ' -f1 /proc/loadavg)); measuring anyway"; break; fi
  done
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}

# ---- 2. The private network -------------------------------------------------------------------

network_up() {
  ip netns add "$NS"
  # Name lookups inside the namespace go to its own loopback, where nobody answers.
  mkdir -p "/etc/netns/$NS"
  echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"
  ip -n "$NS" link set lo up
  ip -n "$NS" link add "$IF_SERVER" type veth peer name "$IF_PEER"
  ip -n "$NS" addr add "$ADDR/24" dev "$IF_SERVER"
  ip -n "$NS" addr add 198.18.0.2/24 dev "$IF_PEER"
  ip -n "$NS" link set "$IF_SERVER" up
  ip -n "$NS" link set "$IF_PEER" up
  log "namespace $NS: $IF_SERVER $ADDR/24, $IF_PEER 198.18.0.2/24, no route out"
}

# Waits (bounded) until `curl URL` answers inside the namespace.
wait_http() {
  local what=$1 url=$2 pid=$3
  for _ in $(seq 1 300); do
    in_ns curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { log "$what exited; its log:"; tail -n 40 "$WORK/$what.log" >&2; exit 1; }
    sleep 0.1
  done
  log "$what did not answer on $url within 30 s"; tail -n 40 "$WORK/$what.log" >&2; exit 1
}

# ---- 3. The servers ---------------------------------------------------------------------------

janus_config() {
  local dir=$WORK/janus lib=/usr/lib/x86_64-linux-gnu/janus
  [ -d "$lib" ] || lib=$(dirname "$(dpkg -L janus | grep -m1 '/janus/plugins/')")
  mkdir -p "$dir"
  # Everything but the VideoRoom plugin, the HTTP and WebSocket transports is switched off.
  local plugins transports events loggers
  plugins=$(cd "$lib/plugins" && ls -- *.so | grep -v '^libjanus_videoroom\.so$' | paste -sd, -)
  transports=$(cd "$lib/transports" && ls -- *.so | grep -Ev '^libjanus_(http|websockets)\.so$' | paste -sd, -)
  events=$(cd "$lib/events" && ls -- *.so | paste -sd, -)
  loggers=$(cd "$lib/loggers" && ls -- *.so | paste -sd, -)
  cat >"$dir/janus.jcfg" <<EOF
general: {
	configs_folder = "$dir"
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
	debug_level = 4
	server_name = "compare-janus"
}
media: {
	ipv6 = false
	# Two ports per participant (publisher and subscriber PeerConnections, bundled, rtcp-mux):
	# 400 at 100 two-person meetings.
	rtp_port_range = "20000-40000"
	# Janus's defaults, written down: retransmission buffer at least 200 ms (more when the RTT
	# is larger), TWCC feedback every 200 ms, "no media" events after 1 s, no slowlink events.
	min_nack_queue = 200
	twcc_period = 200
	no_media_timer = 1
	slowlink_threshold = 0
}
nat: {
	nice_debug = false
	ice_enforce_list = "$IF_SERVER"
	ignore_mdns = true
}
plugins: {
	disable = "$plugins"
}
transports: {
	disable = "$transports"
}
events: {
	disable = "$events"
}
loggers: {
	disable = "$loggers"
}
EOF
  cat >"$dir/janus.transport.http.jcfg" <<EOF
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = $JANUS_HTTP_PORT
	ip = "$ADDR"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
EOF
  cat >"$dir/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "compact"
	ws = true
	ws_port = $JANUS_WS_PORT
	ws_ip = "$ADDR"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
EOF
  # Rooms like the packaged demo room 1234 (publishers, FIR period; bitrate cap see above), one
  # per run, so no run meets another run's leftovers.
  {
    echo "general: {"
    echo "}"
    for r in $(seq "$JANUS_ROOM_BASE" $((JANUS_ROOM_BASE + JANUS_ROOMS - 1))); do
      printf 'room-%s: {\n\tdescription = "bench %s"\n\tpublishers = 6\n\tbitrate = %s\n\tfir_freq = 10\n\trecord = false\n}\n' "$r" "$r" "$JANUS_BITRATE"
    done
  } >"$dir/janus.plugin.videoroom.jcfg"
}

janus_start() {
  janus_config
  ip netns exec "$NS" janus --disable-colors --debug-timestamps -C "$WORK/janus/janus.jcfg" -F "$WORK/janus" >"$WORK/janus.log" 2>&1 &
  JANUS_PID=$!
  PIDS+=("$JANUS_PID")
  wait_http janus "http://$ADDR:$JANUS_HTTP_PORT/janus/info" "$JANUS_PID"
  log "Janus $(janus --version 2>/dev/null | sed -n 's/^Janus version: [0-9]* (\(.*\))/\1/p') on http://$ADDR:$JANUS_HTTP_PORT/janus and ws://$ADDR:$JANUS_WS_PORT (pid $JANUS_PID)"
}

ricevo_start() {
  local data=$WORK/ricevo-data bin=$RICEVO_BIN
  export RICEVO_DATA_DIR=$data RICEVO_LISTEN=$RICEVO_HTTP RICEVO_PUBLIC_URL=http://$RICEVO_HTTP \
    RICEVO_MEDIA_UDP=$RICEVO_UDP RICEVO_MEDIA_PUBLIC_IPS=$ADDR RICEVO_RATE_LIMIT_PER_MINUTE=1000000 \
    RICEVO_LOG=${RICEVO_LOG:-warn}
  # The demo town and an admin API token, before the server holds the database.
  "$bin" demo >/dev/null
  RICEVO_TOKEN=$("$bin" token add --tenant demo --role admin --label compare-janus)
  ip netns exec "$NS" "$bin" serve >"$WORK/ricevo.log" 2>&1 &
  RICEVO_PID=$!
  PIDS+=("$RICEVO_PID")
  wait_http ricevo "http://$RICEVO_HTTP/healthz" "$RICEVO_PID"
  log "Ricevo $("$bin" --version | cut -d' ' -f2) on http://$RICEVO_HTTP, media UDP $RICEVO_UDP (pid $RICEVO_PID)"
}

# ---- 4. The workloads -------------------------------------------------------------------------

workload_browser() {
  wait_for_quiet_machine
  log "time to first frame and page weight: $RUNS runs per page after $WARMUP warm-up (a few minutes)"
  local only=()
  [ -n "$BROWSER_PAGES" ] && only=(--only "$BROWSER_PAGES")
  ip netns exec "$NS" node bench/browser/compare.mjs \
    --ricevo "http://$RICEVO_HTTP" --ricevo-token "$RICEVO_TOKEN" \
    --static "$PAGES" --janus-demos /usr/share/janus/demos --minimal-dir "$ROOT/bench/janus" \
    --janus-room-base "$JANUS_ROOM_BASE" --janus-rooms "$JANUS_ROOMS" \
    --runs "$RUNS" --warmup "$WARMUP" --out "$OUT/results.json" "${only[@]}" \
    >"$WORK/browser-table.md" 2> >(tee "$WORK/browser.log" >&2) &
  PIDS+=("$!")
  wait "$!"
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
}

# Forwarding cost (issue 4, item 2): the SFU load generator (`ricevo-bench media`: str0m
# clients, no browser, the same media for both servers: Opus-like audio 100 B / 20 ms and
# 720p-like VP8 at 1.5 Mbit/s, 30 fps, keyframe every 3 s, SRTP) runs inside the namespace
# (clients on $FWD_BIND) against the servers started above, and reads each server's CPU time
# (utime+stime of the whole process) and VmRSS from /proc/$PID.
#   1. Janus at each of FWD_STEPS meetings in turn, until a step loses 1% or more, or the load
#      generator (sharing the cores) skips 1% or more of its frames, so that the load offered is
#      not the load asked: the highest step before that is the "high" load (if even the first
#      fails, it is taken anyway).
#   2. light = the first step; medium = the middle passing step (if three or more passed), else
#      halfway between light and high. If light and high are the same step, one load.
#   3. At each load, Ricevo then Janus, same options; the table gives the ratio Ricevo/Janus.
fwd_run() {   # server meetings: runs the bench once, prints its "result ..." line ("" on failure)
  local server=$1 meetings=$2 target=()
  local out
  out="$WORK/forwarding-$(date +%H%M%S)-$server-$meetings.log"
  if [ "$server" = janus ]; then
    target=(--janus "ws://$ADDR:$JANUS_WS_PORT" --pid "$JANUS_PID")
  else
    target=(--url "http://$RICEVO_HTTP" --api-token "$RICEVO_TOKEN" --pid "$RICEVO_PID")
  fi
  log "forwarding: $server, $meetings meetings x $FWD_PARTICIPANTS ($out)"
  ip netns exec "$NS" "$BENCH_BIN" media "${target[@]}" --bind "$FWD_BIND" --meetings "$meetings" \
    --participants "$FWD_PARTICIPANTS" --seconds "$FWD_SECONDS" --warmup "$FWD_WARMUP" --threads "$FWD_THREADS" \
    >"$out" 2>&1 &
  PIDS+=("$!")
  wait "$!" || log "forwarding: the bench failed ($server, $meetings meetings); see $out"
  grep '^result ' "$out" | tail -n 1 || true
  cp "$out" "$OUT/" 2>/dev/null || true
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }   # result-line field

workload_forwarding() {
  wait_for_quiet_machine
  local steps=() passed=() r loss
  read -ra steps <<<"$FWD_STEPS"
  for m in "${steps[@]}"; do
    r=$(fwd_run janus "$m")
    loss=$(field "$r" loss_pct)
    log "forwarding: janus at $m meetings: loss ${loss:-?}%"
    log "forwarding: janus at $m meetings: generator skipped $(field "$r" skipped_pct)% of its frames"
    if [ -n "$loss" ] && awk -v l="$loss" -v p="$(field "$r" pkt_s)" -v s="$(field "$r" skipped_pct)" \
        'BEGIN { exit !(l + 0 < 1 && p + 0 > 0 && s + 0 < 1) }'; then
      passed+=("$m")
    else
      break
    fi
  done
  [ ${#passed[@]} -gt 0 ] || passed=("${steps[0]}")
  local n=${#passed[@]} light high medium loads=()
  light=${passed[0]}
  high=${passed[$((n - 1))]}
  if [ "$n" -ge 3 ]; then medium=${passed[$(((n - 1) / 2))]}; else medium=$(((light + high) / 2)); fi
  loads=("$light")
  [ "$medium" != "$light" ] && [ "$medium" != "$high" ] && loads+=("$medium")
  [ "$high" != "$light" ] && loads+=("$high")
  {
    echo "### Forwarding cost ($FWD_PARTICIPANTS-person meetings, ${FWD_SECONDS} s window after ${FWD_WARMUP} s warm-up; Janus held under 1% loss up to ${high} of: $FWD_STEPS)"
    echo
    echo "| load | meetings × $FWD_PARTICIPANTS | server | forwarded pkt/s | loss | server CPU | CPU µs / forwarded pkt | RSS | generator CPU (frames skipped) | Ricevo / Janus (µs/pkt) |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
  } >"$WORK/forwarding-table.md"
  local names=(light medium high) i=0 ours theirs
  [ ${#loads[@]} -eq 2 ] && names=(light high)
  for m in "${loads[@]}"; do
    ours=$(fwd_run ricevo "$m")
    theirs=$(fwd_run janus "$m")
    local ratio="–"
    if [ -n "$ours" ] && [ -n "$theirs" ]; then
      ratio=$(awk -v a="$(field "$ours" us_per_pkt)" -v b="$(field "$theirs" us_per_pkt)" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "–" }')
    fi
    for pair in "Ricevo:$ours" "Janus:$theirs"; do
      local name=${pair%%:*} res=${pair#*:}
      if [ -z "$res" ]; then
        echo "| ${names[$i]} | $m | $name | failed | | | | | | |" >>"$WORK/forwarding-table.md"
        continue
      fi
      printf '| %s | %s | %s | %s | %s%% | %s%% | %s | %s MiB | %s%% (%s%%) | %s |\n' "${names[$i]}" "$m" "$name" \
        "$(field "$res" pkt_s)" "$(field "$res" loss_pct)" "$(field "$res" cpu_pct)" "$(field "$res" us_per_pkt)" \
        "$(field "$res" rss_mib)" "$(field "$res" gen_cpu_pct)" "$(field "$res" skipped_pct)" \
        "$( [ "$name" = Janus ] && echo "**$ratio**" )" \
        >>"$WORK/forwarding-table.md"
    done
    i=$((i + 1))
  done
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
}

# ---- Run ------------------------------------------------------------------------------------

install_missing
mkdir -p "$OUT"
network_up
janus_start
ricevo_start
if [ "$HOLD" -gt 0 ]; then
  log "holding for $HOLD s: ip netns exec $NS ...; Ricevo token $RICEVO_TOKEN; Ctrl-C stops"
  sleep "$HOLD" &
  PIDS+=("$!")
  wait "$!" || true
  exit 0
fi
LOAD_BEFORE=""; LOAD_AFTER=""
[ $RUN_BROWSER = 1 ] && workload_browser
[ $RUN_FORWARDING = 1 ] && workload_forwarding

{
  echo "## Ricevo vs Janus ($(date -u +%Y-%m-%d))"
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
  echo "- Janus: $(janus --version 2>/dev/null | sed -n 's/^Janus version: //p') (Debian $(dpkg-query -W -f='${Version}' janus)), janus-demos $(dpkg-query -W -f='${Version}' janus-demos)"
  echo "- Ricevo: $("$RICEVO_BIN" --version), release build$( [ "$RICEVO_BIN" = "$ROOT/target/release/ricevo" ] && echo " of $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- crates 2>/dev/null || echo ' with local changes')")"
  [ $RUN_BROWSER = 1 ] && echo "- browser: $(chromium --version 2>/dev/null), headless, fake camera and microphone"
  echo "- Janus rooms: bitrate cap $JANUS_BITRATE (0 = none, as Ricevo); load average (1, 5, 15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER"
  echo "- command: bench/compare-janus.sh --runs $RUNS --warmup $WARMUP${ONLY:+ --only $ONLY}$( [ "$JANUS_BITRATE" != 0 ] && echo " --janus-bitrate $JANUS_BITRATE")"
  echo
  [ $RUN_BROWSER = 1 ] && cat "$WORK/browser-table.md" && echo
  [ $RUN_FORWARDING = 1 ] && cat "$WORK/forwarding-table.md"
  true
} | tee "$OUT/table.md"
# A page that never showed the other participant fails the run (after the table).
if [ $RUN_BROWSER = 1 ] && grep -q '| 0/' "$WORK/browser-table.md"; then
  log "some page never showed the remote video; see $OUT/results.json"
  exit 1
fi

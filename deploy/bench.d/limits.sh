# Sourced by deploy/bench: rate limits per sender, urgent messages under a backlog, and
# fair shares between locations (issue 26). Uses bench's $db, $work, $herald, sql, now,
# rate_of, ratio, log and herald_drain's template 'bench'.
#
#   6. senders: a Twilio-compatible peer (Tests/HeraldTests/Peers/http_provider.py
#      --per-from-rate 1) that allows each From one SMS a second (burst 1, 50 ms tolerance)
#      and answers 429 beyond; 50 locations with their own numbers, 100 messages each due at
#      once, [channels.sms] rate = 1; one daemon, then two. Throughput against 50 SMS/s,
#      429s, and how far apart the locations finished (the last ÷ the first).
#   7. urgent: 50,000 reminders due behind the same peer, then 20 urgent messages (one for
#      each of 20 senders): each urgent message's latency against the idle latency measured
#      on the same daemon first. Then again with the worst case for the claim's plan: the
#      outbox analyzed while it held the 20 idle-phase rows (as autovacuum may do then), so
#      that the claim's cached plan is made for a tiny table just before the 50,000-row load.
#   8. fairness: one location with 20,000 due messages and 20 others with 10 each (younger),
#      behind a channel ceiling of 2,000 SMS/s (accept driver): when the last of the 200
#      small-location messages went, as a share of the drain.

limits_python=$(herald_test_venv)
limits_peer=""

# limits_peer_start RATE: the peer, fresh; sets limits_port.
limits_peer_start() {
    limits_peer_stop
    rm -rf "$work/peer"; mkdir -p "$work/peer"
    "$limits_python" Tests/HeraldTests/Peers/http_provider.py "$work/peer" --per-from-rate "$1" >"$work/peer.log" 2>&1 &
    limits_peer=$!
    for _ in $(seq 100); do [ -f "$work/peer/port" ] && break; sleep 0.1; done
    limits_port=$(cat "$work/peer/port")
    printf 'tok-secret' >"$work/twilio-token"
}
limits_peer_stop() { [ -n "$limits_peer" ] && kill -9 "$limits_peer" 2>/dev/null; limits_peer=""; return 0; }

# limits_config ID SMS_SECTION: a daemon's configuration (concurrency 64, batch 100).
limits_config() {
    cat >"$work/limits-$1.toml" <<TOML
[database]
url = "$db"
[worker]
id = "$1"
concurrency = 64
batch_size = 100
poll_interval = "1s"
[quiet_hours]
sms = "off"
[scheduling]
minimum_lead = "0s"
[channels.sms]
$2
TOML
    echo "$work/limits-$1.toml"
}

limits_twilio() {
    printf 'driver = "twilio"\nbase_url = "http://127.0.0.1:%s"\naccount_sid = "ACtest"\nauth_token_file = "%s"\nfrom = "+34911000000"\nmax_concurrent = 64\ntimeout = "5s"\nrate = 1\n' \
        "$limits_port" "$work/twilio-token"
}

# limits_load LOCATIONS PER_LOCATION PRIORITY AGE_S: due SMS for locations with their own numbers.
limits_load() {
    sql "INSERT INTO herald.location (id, name, time_zone, sms_from)
         SELECT 'loc-' || l, 'Sol ' || l, 'Europe/Madrid', '+349115' || lpad(l::text, 5, '0') FROM generate_series(1, $1) l
         ON CONFLICT (id) DO NOTHING"
    sql "INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, location_id, sender, priority, send_at)
         SELECT 'sms', '+1500' || lpad(l::text, 3, '0') || lpad(g::text, 5, '0') || '1', 'bench', 'es', 'Europe/Madrid',
                jsonb_build_object('client', jsonb_build_object('name', 'Cliente ' || g), 'event_at', '2026-05-10T13:00:00+02:00'),
                'loc-' || l, '+349115' || lpad(l::text, 5, '0'), $3::smallint, now() - $4 * interval '1 second'
           FROM generate_series(1, $1) l, generate_series(1, $2) g"
}

limits_reset() {
    sql "TRUNCATE herald.attempt, herald.message, herald.sender_pace RESTART IDENTITY"
    sql "DELETE FROM herald.location"
}

# limits_429s: how many requests the peer answered 429.
limits_429s() { grep -c '"status": 429' "$work/peer/requests.jsonl" 2>/dev/null || true; }

# senders_run DAEMONS: prints "MSGS_PER_S THROTTLED FINISH_SPREAD".
senders_run() {
    local n=$1 start end pids="" i
    limits_reset
    limits_peer_start 1
    limits_load 50 100 0 60
    sql "VACUUM ANALYZE herald.message"
    start=$(now)
    for i in $(seq "$n"); do
        "$herald" run --exit-when-idle --config "$(limits_config "senders-$i" "$(limits_twilio)")" 2>"$work/senders-$i.log" &
        pids="$pids $!"
    done
    for pid in $pids; do wait "$pid" || { tail -5 "$work"/senders-*.log >&2; exit 1; }; done
    end=$(now)
    [ "$(sent)" -eq 5000 ] || { log "senders: sent $(sent) of 5000"; exit 1; }
    local spread
    spread=$(sql "SELECT round((max(f) / nullif(min(f), 0))::numeric, 3) FROM (
                    SELECT extract(epoch FROM max(sent_at)) - $start AS f FROM herald.message GROUP BY location_id) x")
    echo "$(rate_of 5000 "$start" "$end") $(limits_429s) $spread"
}

# urgent_target_ms IDLE_MS: the urgent section's target, idle + 2 / rate (rate 1 SMS/s).
urgent_target_ms() { echo $(($1 + 2000)); }

# urgent_keep_if_missed IDLE_MS "P50_MS MAX_MS NOT_SENT": when an urgent message waited past
# the target (idle + 2 s at 1 SMS/s), keeps the daemon's log and the urgent messages with
# their attempts in $HERALD_BENCH_KEEP (default /tmp), and says where on stderr.
urgent_keep_if_missed() {
    local idle=${1%%.*} max keep
    max=$(echo "$2" | awk '{print $2}')
    max=${max%%.*}
    [[ "$idle" =~ ^[0-9]+$ && "$max" =~ ^[0-9]+$ ]] || return 0
    (( max > $(urgent_target_ms "$idle") )) || return 0
    keep="${HERALD_BENCH_KEEP:-/tmp}/herald-bench-urgent-$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$keep"
    cp "$work/urgent.log" "$keep/daemon.log"
    sql "SELECT m.id, m.location_id, m.status, m.created_at, m.claimed_at, m.sent_at, a.number, a.started_at, a.finished_at, a.outcome, a.error
           FROM herald.message m LEFT JOIN herald.attempt a ON a.message_id = m.id
          WHERE m.priority = 3 ORDER BY m.id, a.number" >"$keep/urgent-messages.txt"
    echo "  urgent: max ${max} ms, past the target; the daemon's log and the urgent messages are kept in $keep" >&2
}

# urgent_run [stale]: prints "IDLE_MAX_MS BACKLOG_P50_MS BACKLOG_MAX_MS NOT_SENT THROTTLED REPLANS";
# with "stale", the outbox is analyzed while it holds the 20 idle-phase rows.
urgent_run() {
    local cfg idle backlog replans
    limits_reset
    limits_peer_start 1
    sql "INSERT INTO herald.location (id, name, time_zone, sms_from)
         SELECT 'loc-' || l, 'Sol ' || l, 'Europe/Madrid', '+349115' || lpad(l::text, 5, '0') FROM generate_series(1, 50) l"
    cfg=$(limits_config urgent "$(limits_twilio)")
    "$herald" run --config "$cfg" 2>"$work/urgent.log" &
    daemon=$!
    for _ in $(seq 100); do grep -q "herald ready" "$work/urgent.log" && break; sleep 0.1; done
    # idle: 20 urgent messages, one for each of 20 senders, on a daemon with nothing else to do
    limits_load 20 1 3 0
    for _ in $(seq 100); do [ "$(sent)" -ge 20 ] && break; sleep 0.1; done
    idle=$(sql "SELECT round(max(extract(epoch FROM sent_at - created_at)) * 1000) FROM herald.message WHERE priority = 3")
    sql "UPDATE herald.message SET priority = 2 WHERE priority = 3"  # measured; out of the next reading
    [ "${1:-}" = stale ] && sql "ANALYZE herald.message"
    sleep 1.2  # the 20 senders' next tokens
    limits_load 50 1000 0 60
    sleep 5
    limits_load 20 1 3 0
    for _ in $(seq 200); do [ "$(sql "SELECT count(*) FROM herald.message WHERE priority = 3 AND status = 'sent'")" -ge 20 ] && break; sleep 0.1; done
    backlog=$(sql "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric), round(max(ms)::numeric), count(*) FILTER (WHERE status <> 'sent')
                     FROM (SELECT status, extract(epoch FROM sent_at - created_at) * 1000 AS ms FROM herald.message WHERE priority = 3) x" | tr '|' ' ')
    kill -TERM "$daemon"; wait "$daemon" || true
    daemon=""
    urgent_keep_if_missed "$idle" "$backlog"
    replans=$(grep -c "its plan is made again" "$work/urgent.log" || true)
    echo "$idle $backlog $(limits_429s) $replans"
}

# fairness_run: prints "SMALL_LAST_SHARE_OF_TIME SMALL_LAST_SHARE_OF_MESSAGES DRAIN_S".
fairness_run() {
    local cfg
    limits_reset
    limits_peer_stop
    sql "INSERT INTO herald.location (id, name, time_zone) SELECT 'loc-' || l, 'Sol ' || l, 'Europe/Madrid' FROM generate_series(0, 20) l"
    sql "INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, location_id, send_at)
         SELECT 'sms', '+3462' || lpad(g::text, 8, '0'), 'bench', 'es', 'Europe/Madrid',
                jsonb_build_object('client', jsonb_build_object('name', 'Cliente ' || g), 'event_at', '2026-05-10T13:00:00+02:00'),
                'loc-0', now() - interval '10 minutes'
           FROM generate_series(1, 20000) g"
    sql "INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, location_id, send_at)
         SELECT 'sms', '+3463' || lpad(l::text, 3, '0') || lpad(g::text, 5, '0'), 'bench', 'es', 'Europe/Madrid',
                jsonb_build_object('client', jsonb_build_object('name', 'Cliente ' || g), 'event_at', '2026-05-10T13:00:00+02:00'),
                'loc-' || l, now() - interval '1 minute'
           FROM generate_series(1, 20) l, generate_series(1, 10) g"
    sql "VACUUM ANALYZE herald.message"
    cfg=$(limits_config fairness "$(printf 'driver = "accept"\nceiling = 2000\n')")
    "$herald" run --exit-when-idle --config "$cfg" 2>"$work/fairness.log" || { tail -5 "$work/fairness.log" >&2; exit 1; }
    [ "$(sent)" -eq 20200 ] || { log "fairness: sent $(sent) of 20200"; exit 1; }
    sql "WITH d AS (SELECT min(sent_at) AS t0, max(sent_at) AS t1 FROM herald.message),
              s AS (SELECT max(sent_at) AS last FROM herald.message WHERE location_id <> 'loc-0')
         SELECT round((extract(epoch FROM s.last - d.t0) / extract(epoch FROM d.t1 - d.t0))::numeric, 4),
                round(((SELECT count(*) FROM herald.message WHERE sent_at <= s.last)::numeric / 20200), 4),
                round(extract(epoch FROM d.t1 - d.t0)::numeric, 1)
           FROM d, s" | tr '|' ' '
}

limits_bench() {
    echo
    echo "6. senders: 50 locations with their own numbers, 100 SMS each due at once, [channels.sms] rate = 1, behind a peer allowing 1 SMS/s per From (429 beyond)"
    printf '%-10s %10s %12s %8s %16s\n' daemons msgs/s "÷ 50/s" 429s last÷first
    for n in 1 2; do
        read -r r t s < <(senders_run "$n")
        printf '%-10s %10s %12s %8s %16s\n' "$n" "$r" "$(ratio "$r" 50)" "$t" "$s"
        [ "$n" -eq 1 ] && senders_one=$(ratio "$r" 50) senders_429=$t
        [ "$n" -eq 2 ] && senders_two=$(ratio "$r" 50) senders_429=$((senders_429 + t))
    done
    echo
    echo "7. urgent: 20 urgent SMS (one per sender) on an idle daemon, then behind 50,000 due reminders on 50 senders at 1 SMS/s"
    read -r idle u50 umax uleft uthrottled replans < <(urgent_run)
    echo "  idle: max ${idle} ms; behind the backlog: p50 ${u50} ms, max ${umax} ms ($uleft not sent), target ≤ idle + 2/rate = $(urgent_target_ms "$idle") ms; 429s: $uthrottled; replan notices: $replans"
    urgent_max=$umax urgent_idle=$idle
    read -r idle u50 umax uleft uthrottled replans < <(urgent_run stale)
    echo "  the same, the outbox analyzed at 20 rows first (a stale claim plan): idle max ${idle} ms; p50 ${u50} ms, max ${umax} ms ($uleft not sent), target $(urgent_target_ms "$idle") ms; 429s: $uthrottled; replan notices: $replans"
    urgent_stale_max=$umax urgent_stale_idle=$idle
    echo
    echo "8. fairness: one location with 20,000 due SMS, 20 locations with 10 each (younger), channel ceiling 2,000 SMS/s"
    read -r share_t share_m drain_s < <(fairness_run)
    echo "  the last small-location message went at ${share_t} of the drain's time (${share_m} of its messages; drain ${drain_s} s); target ≤ 0.05"
    fair_share=$share_t
    limits_peer_stop
}

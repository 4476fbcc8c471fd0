# Shared helpers for deploy/demo, deploy/test, deploy/bench, deploy/bench-split and deploy/drill.
# Source it; it defines functions only.

# Installs the Debian packages Herald needs to build and test, when missing.
herald_ensure_packages() {
    local wanted=(libpq-dev libcurl4-openssl-dev postgresql postgresql-contrib python3 python3-venv openssl systemd tzdata prometheus chromium chromium-driver)
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "herald: installing ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
    fi
    command -v swift >/dev/null || { echo "herald: swift is not on PATH (Swift 6 toolchain required)" >&2; return 1; }
}

# herald_venv REQUIREMENTS DIR: a Python virtual environment in DIR with the packages of
# REQUIREMENTS, rebuilt when that file changes. Prints its python.
herald_venv() {
    local requirements=$1 venv=$2 stamp
    stamp=$(sha256sum "$requirements" | cut -c1-16)
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
        echo "$stamp" >"$venv/.stamp"
    fi
    echo "$PWD/$venv/bin/python"
}

# The test peers' packages (deploy/test-requirements.txt), in .build-venv/.
herald_test_venv() { herald_venv deploy/test-requirements.txt .build-venv; }

# Directory of PostgreSQL server binaries (initdb, pg_ctl).
herald_pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
    dirname "$(command -v initdb)"
}

# Runs a command as the user that owns the throwaway cluster (postgres when we are root).
herald_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

herald_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# herald_pg_start DIR: initdb + start a throwaway server in DIR on a free loopback port.
# Sets HERALD_PG_DIR, HERALD_PG_PORT and HERALD_PG_URL (superuser URL to database postgres).
herald_pg_start() {
    local dir=$1 bindir port
    bindir=$(herald_pg_bindir)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    herald_pg_as "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    port=$(herald_free_port)
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 1000
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
log_min_messages = warning
CONF
    herald_pg_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    HERALD_PG_DIR=$dir
    HERALD_PG_PORT=$port
    HERALD_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    export HERALD_PG_DIR HERALD_PG_PORT HERALD_PG_URL
}

# herald_pg_stop DIR: stops the throwaway server (idempotent).
herald_pg_stop() {
    local dir=$1 bindir
    bindir=$(herald_pg_bindir)
    if [ -f "$dir/data/postmaster.pid" ]; then
        herald_pg_as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    return 0
}

# herald_pg_resume DIR: starts again a server made by herald_pg_start and stopped since.
herald_pg_resume() {
    local dir=$1
    herald_pg_as "$(herald_pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

# Starts the local provider peers the tests use (Tests/HeraldTests/Peers): an SMTP
# server with STARTTLS + AUTH and a Twilio-compatible HTTP API that also receives
# signed webhooks. Writes DIR/channels.toml: [channels.*] tables for Herald's real
# drivers pointing at them. HERALD_PEERS_PIDS holds their pids for herald_peers_stop.
herald_peers_start() {
    local dir=$1 python i
    shift
    # further arguments go to the HTTP provider (e.g. --latency-ms 25)
    python=$(herald_test_venv)
    mkdir -p "$dir/smtp" "$dir/http" "$dir/secrets"
    rm -f "$dir/smtp/port" "$dir/http/port"
    "$python" Tests/HeraldTests/Peers/smtp_server.py "$dir/smtp" >"$dir/smtp.log" 2>&1 &
    HERALD_PEERS_PIDS="$!"
    "$python" Tests/HeraldTests/Peers/http_provider.py "$dir/http" "$@" >"$dir/http.log" 2>&1 &
    HERALD_PEERS_PIDS="$HERALD_PEERS_PIDS $!"
    for i in $(seq 200); do
        [ -f "$dir/smtp/port" ] && [ -f "$dir/http/port" ] && break
        sleep 0.1
    done
    [ -f "$dir/smtp/port" ] && [ -f "$dir/http/port" ] || { cat "$dir"/*.log >&2; echo "herald: the peers did not start" >&2; return 1; }
    printf 's3cret pass' >"$dir/secrets/smtp-password"
    printf 'tok-secret' >"$dir/secrets/twilio-auth-token"
    printf 'hook-secret' >"$dir/secrets/webhook-secret"
    cat >"$dir/channels.toml" <<TOML
# Herald's real drivers, pointed at the local peers (SMTP on $(cat "$dir/smtp/port"), HTTP on $(cat "$dir/http/port")).
[channels.email]
driver = "smtp"
url = "smtp://127.0.0.1:$(cat "$dir/smtp/port")"
tls = "required"
username = "herald"
password_file = "$dir/secrets/smtp-password"
from = "Herald demo <demo@herald.localhost>"
ca_file = "$dir/smtp/cert.pem"

[channels.sms]
driver = "twilio"
base_url = "http://127.0.0.1:$(cat "$dir/http/port")"
account_sid = "ACtest"
auth_token_file = "$dir/secrets/twilio-auth-token"
from = "+34911000000"

[channels.webhook]
driver = "webhook"
url = "http://127.0.0.1:$(cat "$dir/http/port")/hook"
secret_file = "$dir/secrets/webhook-secret"
TOML
}

herald_peers_stop() {
    [ -n "${HERALD_PEERS_PIDS:-}" ] && kill $HERALD_PEERS_PIDS 2>/dev/null || true
    HERALD_PEERS_PIDS=""
}

# herald_bench_template DB: the benchmarks' template, a Spanish SMS reminder with a long
# date and a time (deploy/bench and deploy/bench-split measure the same rendering).
herald_bench_template() {
    psql -qtAX -v ON_ERROR_STOP=1 "$1" -c "INSERT INTO herald.template (key, channel, locale, body) VALUES ('bench', 'sms', 'es',
     'Hola {{client.name}}, le recordamos su cita del {{event_at.date_long}} a las {{event_at.time}}. Responda C para confirmar.')"
}

# herald_bench_events DB N: the events benchmarks' workload (deploy/bench section 1b,
# deploy/bench-events): 3 rules making one SMS each of an appointment's creation, 1,000
# contacts, and N created appointments spread over them, due in two days.
herald_bench_events() {
    psql -qtAX -v ON_ERROR_STOP=1 "$1" \
        -c "INSERT INTO herald.rule (name, subject_type, on_event, channels, template) VALUES
              ('bench.a', 'appointment', 'created', '{sms}', 'bench'), ('bench.b', 'appointment', 'created', '{sms}', 'bench'),
              ('bench.c', 'appointment', 'created', '{sms}', 'bench')" \
        -c "INSERT INTO herald.contact (id, name, phone, locale, time_zone)
            SELECT 'c' || g, 'Cliente ' || g, '+3461' || lpad(g::text, 7, '0'), 'es', 'Europe/Madrid' FROM generate_series(1, 1000) g" \
        -c "INSERT INTO herald.event (subject_type, subject_id, type, starts_at, contact_id)
            SELECT 'appointment', 'A-' || g, 'created', now() + interval '2 days', 'c' || (g % 1000 + 1) FROM generate_series(1, $2) g"
}

# herald_bench_due DB N PREFIX: N due SMS messages for that template (one insert, as a
# host's bulk enqueue) to numbers PREFIX….
herald_bench_due() {
    psql -qtAX -v ON_ERROR_STOP=1 "$1" -c "INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data)
         SELECT 'sms', '$3' || lpad(g::text, 8, '0'), 'bench', 'es', 'Europe/Madrid',
                jsonb_build_object('client', jsonb_build_object('name', 'Cliente ' || g), 'event_at', '2026-05-10T13:00:00+02:00')
           FROM generate_series(1, $2) g"
}

#!/usr/bin/env bash
# The built package as an operator gets it: sdist and wheel built from this checkout, the wheel installed in a
# fresh virtual environment outside it, every command run from an empty folder with only REGISTRY_* set.
# Once on SQLite in the installed package's default instance folder, once on a PostgreSQL database made for
# the run (skipped when no server answers, unless REGISTRY_REQUIRE_POSTGRES=1). Removes everything it made.
#
#   tests/smoke/wheel_smoke.sh            (PYTHON=… to build with another interpreter than .venv's)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
POSTGRES_ADMIN_URL=${REGISTRY_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wheel-smoke.XXXXXX")
VENV=$WORK/venv
SERVER_PID=""
PG_DATABASE=""
PG_ROLES=()

say() { echo "smoke: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" || true; fi
  if [ -n "$PG_DATABASE" ]; then admin_sql "DROP DATABASE IF EXISTS \"$PG_DATABASE\" WITH (FORCE)" || true; fi
  for role in "${PG_ROLES[@]}"; do admin_sql "DROP ROLE IF EXISTS $role" || true; done
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

# Run an installed command with nothing of the caller's environment but PATH, a home of its own and REGISTRY_*.
operator() {
  env -i -C "$WORK/empty" PATH="$VENV/bin:/usr/bin:/bin" HOME="$WORK/home" TMPDIR="$WORK/tmp" LANG=C.UTF-8 \
    "${SETTINGS[@]}" "$@"
}

admin_sql() {
  "$VENV/bin/python" - "$POSTGRES_ADMIN_URL" "$1" <<'EOF'
import sys, psycopg
with psycopg.connect(sys.argv[1].replace("+psycopg", ""), autocommit=True, connect_timeout=3) as conn:
    conn.execute(sys.argv[2])
EOF
}

# GET a path of the running service; prints the body, fails unless the status is 200.
get() {
  "$VENV/bin/python" - "$BASE$1" "${2:-}" <<'EOF'
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": f"Bearer {sys.argv[2]}"} if sys.argv[2] else {})
with urllib.request.urlopen(request, timeout=10) as response:
    sys.stdout.write(response.read().decode())
EOF
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_health() {
  for _ in $(seq 100); do
    if health=$(get /healthz 2>/dev/null); then echo "$health"; return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; fail "serve exited before answering"; }
    sleep 0.2
  done
  cat "$WORK/serve.log" >&2
  fail "serve did not answer /healthz in 20 s"
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local code=0
  wait "$SERVER_PID" || code=$?
  SERVER_PID=""
  [ "$code" -eq 0 ] || { cat "$WORK/serve.log" >&2; fail "serve exited $code on SIGTERM"; }
}

# One operator's day on one database: the settings are in SETTINGS.
run_through() {
  local backend=$1
  say "$backend: key init, db upgrade, serve, units, an authenticated read, verify, audit"
  local vkey
  vkey=$(operator seizure-registry key init | tail -n 1)
  operator seizure-registry db upgrade >/dev/null
  local port
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  # not through `operator`: a function in the background is a subshell, and $! must be the server itself
  env -i -C "$WORK/empty" PATH="$VENV/bin:/usr/bin:/bin" HOME="$WORK/home" TMPDIR="$WORK/tmp" LANG=C.UTF-8 \
    "${SETTINGS[@]}" seizure-registry serve --host 127.0.0.1 --port "$port" --workers 1 >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  local health
  health=$(wait_for_health)
  grep -q "\"version\":\"$VERSION\"" <<<"${health// /}" || fail "/healthz does not report version $VERSION: $health"

  operator seizure-registry units add OPERATOR --name "Registry operator" --kind admin >/dev/null
  local court_token
  court_token=$(operator seizure-registry units add SH-BAOSHAN-COURT --name 上海市宝山区人民法院 --kind court \
    | tail -n 1)
  get /api/v1/units "$court_token" | grep -q '"SH-BAOSHAN-COURT"' || fail "GET /api/v1/units does not list the court"
  [ "$(get /api/v1/ledger/key "$court_token")" = "$vkey" ] || fail "the service signs with another key than key init's"

  (umask 077 && printf '%s\n' "$court_token" >"$WORK/court.token")
  operator seizure-ledger verify --url "$BASE" --key "$vkey" --token-file "$WORK/court.token" >&2
  operator seizure-registry audit >&2
  stop_server
}

# docs/deploy.md on PostgreSQL: an owner role migrates and grants, the service role runs gunicorn exactly as the
# systemd unit starts it, /healthz and /metrics answer, pg_dump backs the database up.
deploy_guide() {
  say "postgresql: the deploy guide's roles, db upgrade --grant-to, gunicorn as the systemd unit runs it, metrics, pg_dump"
  local suffix="$$_$RANDOM" host_url="${POSTGRES_ADMIN_URL%/*}"
  host_url="${host_url#*@}"
  local owner="smoke_owner_$suffix" service="smoke_service_$suffix" database="wheel_smoke_guide_$suffix"
  PG_ROLES=("$owner" "$service")
  admin_sql "CREATE ROLE $owner LOGIN"
  admin_sql "CREATE ROLE $service LOGIN"
  admin_sql "CREATE DATABASE \"$database\" OWNER $owner"
  local previous_database=$PG_DATABASE
  admin_sql "DROP DATABASE IF EXISTS \"$previous_database\" WITH (FORCE)"
  PG_DATABASE=$database
  SETTINGS=(REGISTRY_DATABASE_URL="postgresql+psycopg://$owner@$host_url/$database"
            REGISTRY_LEDGER_KEY_FILE="$WORK/keys/guide.key" REGISTRY_LEDGER_ORIGIN=registry.example.court/ledger)
  operator seizure-registry key init >/dev/null
  operator seizure-registry db upgrade --grant-to "$service" >&2
  SETTINGS=(REGISTRY_DATABASE_URL="postgresql+psycopg://$service@$host_url/$database"
            REGISTRY_LEDGER_KEY_FILE="$WORK/keys/guide.key" REGISTRY_LEDGER_ORIGIN=registry.example.court/ledger
            REGISTRY_TRUSTED_PROXIES=1 REGISTRY_TRUSTED_HOSTS=127.0.0.1)
  local admin_token
  admin_token=$(operator seizure-registry units add OPERATOR --name "Registry operator" --kind admin | tail -n 1)
  local port exec_start
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  exec_start=$(sed -n 's/^ExecStart=//p' "$ROOT/docs/deploy/seizure-registry.service")
  exec_start=${exec_start//\/opt\/seizure-registry\/bin\//$VENV/bin/}
  exec_start=${exec_start//127.0.0.1:8000/127.0.0.1:$port}
  exec_start=${exec_start//--workers 4/--workers 2}
  # shellcheck disable=SC2086  # the unit's command line, split as systemd splits it
  env -i -C "$WORK/empty" PATH="$VENV/bin:/usr/bin:/bin" HOME="$WORK/home" TMPDIR="$WORK/tmp" LANG=C.UTF-8 \
    "${SETTINGS[@]}" $exec_start >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  wait_for_health >/dev/null
  get /metrics "$admin_token" | grep -q '^registry_ledger_entries' || fail "/metrics has no ledger size for an admin"
  stop_server
  grep -q '"path": *"/healthz"' "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; fail "gunicorn wrote no request log line"; }
  if command -v pg_dump >/dev/null; then
    pg_dump --format=custom --file="$WORK/registry.dump" "postgresql://$owner@$host_url/$database"
    [ -s "$WORK/registry.dump" ] || fail "pg_dump wrote nothing"
  fi
}

say "building sdist and wheel"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
WHEEL=$(ls "$WORK"/dist/seizure_registry-*.whl)
ls "$WORK"/dist/seizure_registry-*.tar.gz >/dev/null

say "installing $(basename "$WHEEL") in a fresh virtual environment"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "$WHEEL" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; exit 1; }
mkdir -m 700 "$WORK/empty" "$WORK/home" "$WORK/tmp" "$WORK/keys"

SETTINGS=()
VERSION=$(operator seizure-registry --version | awk '{print $2}')
[ "$(operator seizure-ledger --version)" = "seizure-ledger $VERSION" ] || fail "the two commands differ in version"
case "$(basename "$WHEEL")" in "seizure_registry-$VERSION-"*) ;; *) fail "wheel is not version $VERSION" ;; esac

# SQLite with every default: the database and key in the installed package's instance folder.
SETTINGS=(REGISTRY_LEDGER_ORIGIN=smoke.seizure-registry.local/ledger)
run_through sqlite
INSTANCE=$(operator python -c 'import registry; print(registry.configured_app().instance_path)')
case "$INSTANCE" in "$VENV"/*) ;; *) fail "the instance folder $INSTANCE is not in the installed environment" ;; esac
for file in registry.db ledger.key; do
  [ "$(stat -c %a "$INSTANCE/$file")" = 600 ] || fail "$INSTANCE/$file is not mode 600"
done
[ "$(stat -c %a "$INSTANCE")" = 700 ] || fail "$INSTANCE is not mode 700"

say "demo"
operator seizure-registry demo >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log" >&2; fail "demo"; }

if admin_sql "SELECT 1" 2>/dev/null; then
  PG_DATABASE="wheel_smoke_$$_$RANDOM"
  admin_sql "CREATE DATABASE \"$PG_DATABASE\""
  SETTINGS=(REGISTRY_DATABASE_URL="${POSTGRES_ADMIN_URL%/*}/$PG_DATABASE" REGISTRY_LEDGER_KEY_FILE="$WORK/keys/ledger.key")
  run_through postgresql
  deploy_guide
elif [ "${REGISTRY_REQUIRE_POSTGRES:-}" = 1 ]; then
  fail "REGISTRY_REQUIRE_POSTGRES=1 but PostgreSQL at ${POSTGRES_ADMIN_URL##*@} does not answer"
else
  say "PostgreSQL at ${POSTGRES_ADMIN_URL##*@} does not answer: its run skipped"
fi

SITE=$(operator python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for name in migrations tests wsgi bench; do
  if [ -e "$SITE/$name" ] || [ -e "$SITE/$name.py" ]; then fail "the installed package put a top-level $name in $SITE"; fi
done
say "ok: version $VERSION installed from the wheel, served, verified and audited"

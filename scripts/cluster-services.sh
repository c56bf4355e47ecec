#!/usr/bin/env bash
# Starts the services the cluster tests (test/cluster/) need, on one machine, and is idempotent: a second run
# checks everything and changes nothing.
#
#   - PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`): started with pg_ctlcluster when it is down.
#   - Redis on 127.0.0.1:6379 (no persistence): started with redis-server when it is down; its
#     `maxmemory-policy` must be `noeviction` (BullMQ's lock keys must never be evicted).
#   - OpenStack Swift 2.30 with the S3 API (`s3api`) and tempauth, single node, one replica, loopback only, in
#     $MEDIA_INGEST_SWIFT_DIR (default /tmp/media-ingest-swift); installed from Debian when missing (root only).
#     The proxy listens on $MEDIA_INGEST_SWIFT_PORT (default 8080, or the next free port). Creates the bucket.
#
# Writes the environment the tests read to test/.cluster.env (override: MEDIA_INGEST_CLUSTER_ENV_FILE) and prints
# it; `set -a; . test/.cluster.env; set +a` exports it into a shell. `--stop` stops the Swift daemons it started.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV_FILE="${MEDIA_INGEST_CLUSTER_ENV_FILE:-$ROOT/test/.cluster.env}"
SWIFT_DIR="${MEDIA_INGEST_SWIFT_DIR:-${TMPDIR:-/tmp}/media-ingest-swift}"
WANT_PORT="${MEDIA_INGEST_SWIFT_PORT:-8080}"
PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres PG_DB=test
REDIS_HOST=127.0.0.1 REDIS_PORT=6379
S3_BUCKET=media-ingest-test S3_REGION=us-east-1 S3_ACCESS_KEY=test:tester S3_SECRET=testing
SWIFT_DAEMONS=(account container object proxy)

say() { printf 'cluster-services: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
# Waits up to $1 seconds for the command in "${@:2}" to succeed.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_swift() {
  local daemon pid
  for daemon in "${SWIFT_DAEMONS[@]}"; do
    [ -f "$SWIFT_DIR/run/$daemon.pid" ] || continue
    pid="$(cat "$SWIFT_DIR/run/$daemon.pid")"
    # Only a process this script started: its command line names our config file.
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$SWIFT_DIR/$daemon-server.conf"; then
      kill "$pid" 2>/dev/null || true
      wait_for 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$SWIFT_DIR/run/$daemon.pid"
  done
}

if [ "${1:-}" = "--stop" ]; then stop_swift; say "Swift stopped"; exit 0; fi

# --- PostgreSQL -------------------------------------------------------------------------------------------------
pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
command -v pg_isready >/dev/null || die "PostgreSQL client tools are missing (apt-get install postgresql)"
if ! pg_up; then
  command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] || die "PostgreSQL is down and not installed here (apt-get install postgresql)"
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for 30 pg_up || die "PostgreSQL did not come up on $PG_HOST:$PG_PORT"
fi
if ! psql -qAt -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c 'select 1' >/dev/null 2>&1; then
  say "creating database $PG_DB"
  createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" || die "cannot reach or create database $PG_DB as $PG_USER (trust auth expected)"
fi

# --- Redis ------------------------------------------------------------------------------------------------------
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
command -v redis-cli >/dev/null || die "Redis is missing (apt-get install redis-server)"
if ! redis_up; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 30 redis_up || die "Redis did not come up on $REDIS_HOST:$REDIS_PORT"
fi
policy="$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config get maxmemory-policy | tail -1)"
[ "$policy" = noeviction ] || die "Redis maxmemory-policy is '$policy'; BullMQ needs 'noeviction' (redis-cli config set maxmemory-policy noeviction)"

# --- Swift with s3api -------------------------------------------------------------------------------------------
swift_healthy() {
  local daemon pid
  [ -f "$SWIFT_DIR/port" ] || return 1
  for daemon in "${SWIFT_DAEMONS[@]}"; do
    pid="$(cat "$SWIFT_DIR/run/$daemon.pid" 2>/dev/null)" || return 1
    kill -0 "$pid" 2>/dev/null || return 1
  done
  [ "$(curl -fsS --max-time 5 "http://127.0.0.1:$(cat "$SWIFT_DIR/port")/healthcheck" 2>/dev/null)" = OK ]
}

install_swift() {
  local packages=(swift swift-proxy swift-object swift-container swift-account)
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "Swift is not installed; as root: apt-get install -y ${packages[*]}"
  say "installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${packages[@]}" >/dev/null
}

first_free_port() {
  local port=$1
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

write_swift_config() {
  local port=$1 user; user="$(id -un)"
  local object=$2 container=$3 account=$4
  mkdir -p "$SWIFT_DIR/srv/d1" "$SWIFT_DIR/run" "$SWIFT_DIR/log" "$SWIFT_DIR/cache"
  cat >"$SWIFT_DIR/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = media-ingest-test
swift_hash_path_suffix = media-ingest-test
[storage-policy:0]
name = Policy-0
default = yes
EOF
  local server
  for server in object:$object container:$container account:$account; do
    cat >"$SWIFT_DIR/${server%%:*}-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${server##*:}
workers = 0
user = $user
swift_dir = $SWIFT_DIR
devices = $SWIFT_DIR/srv
mount_check = false
log_name = ${server%%:*}-server
log_address = $SWIFT_DIR/log/none
recon_cache_path = $SWIFT_DIR/cache

[pipeline:main]
pipeline = healthcheck ${server%%:*}-server

[app:${server%%:*}-server]
use = egg:swift#${server%%:*}

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
  done
  # s3api before tempauth; slo after it (S3 multipart uploads are SLO manifests); no memcached: tempauth only
  # needs the cache for Swift tokens, S3 requests are checked by signature.
  cat >"$SWIFT_DIR/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = $user
swift_dir = $SWIFT_DIR
log_name = proxy-server
log_address = $SWIFT_DIR/log/none

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = $S3_REGION
s3_acl = false

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $S3_SECRET .admin

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11211
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
  local ring
  for ring in object:$object container:$container account:$account; do
    (cd "$SWIFT_DIR" &&
      swift-ring-builder "${ring%%:*}.builder" create 10 1 1 >/dev/null &&
      swift-ring-builder "${ring%%:*}.builder" add "r1z1-127.0.0.1:${ring##*:}/d1" 100 >/dev/null &&
      swift-ring-builder "${ring%%:*}.builder" rebalance >/dev/null) || die "swift-ring-builder failed for ${ring%%:*}"
  done
  echo "$port" >"$SWIFT_DIR/port"
}

start_swift() {
  command -v swift-proxy-server >/dev/null && command -v swift-ring-builder >/dev/null &&
    command -v swift-object-server >/dev/null && command -v swift-container-server >/dev/null &&
    command -v swift-account-server >/dev/null || install_swift
  stop_swift
  rm -rf "$SWIFT_DIR"
  local proxy object container account
  proxy="$(first_free_port "$WANT_PORT")"
  object="$(first_free_port 6200)"
  container="$(first_free_port $((object + 1)))"
  account="$(first_free_port $((container + 1)))"
  write_swift_config "$proxy" "$object" "$container" "$account"
  local daemon
  for daemon in "${SWIFT_DAEMONS[@]}"; do
    nohup setsid "swift-$daemon-server" "$SWIFT_DIR/$daemon-server.conf" >>"$SWIFT_DIR/log/$daemon.log" 2>&1 </dev/null &
    echo $! >"$SWIFT_DIR/run/$daemon.pid"
  done
  say "starting Swift (proxy on 127.0.0.1:$proxy, data in $SWIFT_DIR)"
  for daemon in object:$object container:$container account:$account proxy:$proxy; do
    wait_for 60 curl -fsS --max-time 2 "http://127.0.0.1:${daemon##*:}/healthcheck" ||
      die "Swift ${daemon%%:*} server did not become healthy; see $SWIFT_DIR/log/${daemon%%:*}.log"
  done
}

swift_healthy || start_swift
SWIFT_PORT="$(cat "$SWIFT_DIR/port")"
ENDPOINT="http://127.0.0.1:$SWIFT_PORT"

# S3 request signed with signature v2 (s3api accepts it; enough for HEAD/PUT bucket without an SDK).
s3_bucket_request() {
  local method=$1 date signature
  date="$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')"
  signature="$(STRING="$(printf '%s\n\n\n%s\n/%s' "$method" "$date" "$S3_BUCKET")" SECRET="$S3_SECRET" node -e \
    'process.stdout.write(require("crypto").createHmac("sha1", process.env.SECRET).update(process.env.STRING).digest("base64"))')"
  local verb=(-X "$method"); [ "$method" = HEAD ] && verb=(--head)
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${verb[@]}" \
    -H "Date: $date" -H "Authorization: AWS $S3_ACCESS_KEY:$signature" "$ENDPOINT/$S3_BUCKET"
}
command -v node >/dev/null && command -v curl >/dev/null || die "node and curl are needed to create the bucket"
status="$(s3_bucket_request HEAD)"
if [ "$status" != 200 ]; then
  status="$(s3_bucket_request PUT)"
  [ "$status" = 200 ] || die "creating bucket $S3_BUCKET answered HTTP $status"
  say "created bucket $S3_BUCKET"
fi

# --- environment for the tests ----------------------------------------------------------------------------------
env_text="MEDIA_INGEST_POSTGRES_URL=postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB
MEDIA_INGEST_REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT
MEDIA_INGEST_S3_ENDPOINT=$ENDPOINT
MEDIA_INGEST_S3_REGION=$S3_REGION
MEDIA_INGEST_S3_BUCKET=$S3_BUCKET
MEDIA_INGEST_S3_ACCESS_KEY_ID=$S3_ACCESS_KEY
MEDIA_INGEST_S3_SECRET_ACCESS_KEY=$S3_SECRET
MEDIA_INGEST_S3_FORCE_PATH_STYLE=true"
if [ "$(cat "$ENV_FILE" 2>/dev/null)" != "$env_text" ]; then
  mkdir -p "$(dirname "$ENV_FILE")"
  printf '%s\n' "$env_text" >"$ENV_FILE"
fi
say "PostgreSQL, Redis and Swift (S3) are up; environment in $ENV_FILE"
printf '%s\n' "$env_text"

# tests/lib/pg.sh - a throwaway PostgreSQL for the tests (sourced).
#
#   pg_start DIR PORT   initdb into DIR (fsync off: test data), start it on
#                       127.0.0.1:PORT (or the next free port) and a socket
#                       in DIR, create the database ruad_test, export
#                       RUAD_DATABASE_URL
#   pg_stop DIR         stop it (fast shutdown)
#
# As root, the server runs as the postgres user (initdb refuses root).
pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# port_busy - is something listening on 127.0.0.1:PORT?
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start() {
    local dir=$1 port=$2 bin tries=0
    while port_busy "$port"; do
        port=$((port + 1)); tries=$((tries + 1))
        [ $tries -lt 50 ] || { echo "pg_start: no free port" >&2; return 1; }
    done
    bin=$(pg_bin)
    [ -n "$bin" ] || { echo "pg_start: PostgreSQL is not installed" >&2; return 1; }
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    pg_as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; return 1; }
    pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
        "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
        start >/dev/null || { cat "$dir/log" >&2; return 1; }
    pg_as "$bin/createdb" -h "$dir" -p "$port" -U postgres ruad_test
    export RUAD_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/ruad_test"
    export RUAD_PG_DIR=$dir RUAD_PG_PORT=$port
}

pg_stop() {
    local dir=$1 bin
    bin=$(pg_bin)
    [ -d "$dir/data" ] || return 0
    pg_as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

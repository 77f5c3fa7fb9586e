-- bench_http.lua - the wrk script of tests/bench/bench_http
-- (tests/bench/README.md, "bench_http").
--
--   wrk ... -s bench_http.lua https://HOST:PORT/healthz -- get
--   wrk ... -s bench_http.lua https://HOST:PORT/tlsrpt  -- post BODIES FIRST T
--   wrk ... -s bench_http.lua https://HOST:PORT/tlsrpt  -- reject BODIES 0 T
--
-- get:  every request is the same GET of the URL's path.
-- post: every request POSTs one of the gzip TLS reports in BODIES (made by
--       bench_http: for each report its length in decimal, a newline, then
--       its bytes), Content-Type application/tlsrpt+gzip.  Thread t of T
--       (0-based) sends report FIRST + t, FIRST + t + T, FIRST + t + 2T ...,
--       so no two requests of a run send the same report until the file is
--       used up (then it wraps round and the worker finds duplicates).
-- reject: the same POSTs with the gzip magic bytes spoiled ("XX"): ruad
--       reads the whole body, then answers 400 before any database work,
--       on a kept connection: the HTTP and TLS stack's keep-alive limit for
--       a request of the size and path of the POSTs, whatever /healthz does
--       (before 82e3f69 ruad answered /healthz in libmicrohttpd's first
--       access callback, and libmicrohttpd then closed every connection).
--
-- done() prints one line for the driver:
--   RESULT requests=N duration_us=N rps=X p50_us=N p99_us=N max_us=N
--          connect=N read=N write=N status=N timeout=N accepted=N next=N
-- accepted counts the expected answers, 202 (post) or 400 (reject); -1
-- for get; next is the first report a following run should send.

-- globals, as thread:get() and thread:set() reach only those: mode, first,
-- k (requests made), accepted, tid (set by setup()); want (the status)
local bodies, nbodies, nthreads
local threads = {}              -- the main state's view, for done()

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

-- load - the reports in path, as a table of strings
local function load(path)
    local f = assert(io.open(path, "rb"))
    local data = f:read("*a")
    f:close()
    local t, pos = {}, 1
    while pos <= #data do
        local nl = assert(data:find("\n", pos, true), "bad bodies file")
        local n = assert(tonumber(data:sub(pos, nl - 1)), "bad length")
        t[#t + 1] = data:sub(nl + 1, nl + n)
        pos = nl + 1 + n
    end
    assert(#t > 0, "no reports in " .. path)
    return t
end

function init(args)
    mode = args[1] or "get"
    k, accepted = 0, 0
    if mode == "post" or mode == "reject" then
        bodies = load(assert(args[2], "post needs the bodies file"))
        nbodies = #bodies
        first = tonumber(args[3] or "0")
        nthreads = tonumber(args[4] or "1")
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/tlsrpt+gzip"
        want = mode == "post" and 202 or 400
    else
        response = nil          -- wrk then skips parsing the answers
    end
end

function request()
    if mode ~= "post" and mode ~= "reject" then
        return wrk.format()
    end
    local i = (first + (tid or 0) + k * nthreads) % nbodies
    k = k + 1
    if mode == "reject" then
        return wrk.format(nil, nil, nil, "XX" .. bodies[i + 1]:sub(3))
    end
    return wrk.format(nil, nil, nil, bodies[i + 1])
end

function response(status, headers, body)
    if status == want then
        accepted = accepted + 1
    end
end

function done(summary, latency, requests)
    local maxk, acc, e = 0, 0, summary.errors
    for _, t in ipairs(threads) do
        maxk = math.max(maxk, t:get("k") or 0)
        local a = t:get("accepted")
        if t:get("mode") ~= "get" then acc = acc + (a or 0) else acc = -1 end
    end
    local nt = #threads
    local first0 = tonumber(threads[1]:get("first") or 0) or 0
    io.write(string.format("RESULT requests=%d duration_us=%d rps=%.1f " ..
        "p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d " ..
        "status=%d timeout=%d accepted=%d next=%d\n",
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50.0), latency:percentile(99.0), latency.max,
        e.connect, e.read, e.write, e.status, e.timeout, acc,
        first0 + nt * maxk))
end

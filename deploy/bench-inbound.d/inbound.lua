-- wrk script: POSTs the pre-signed requests in $REQUESTS (sign.py) from line $START on,
-- each thread its own slice, so that no request is sent twice while the file lasts.
local threads = {}
local counter = 0

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local count = tonumber(os.getenv("THREADS") or "1")
    local start = tonumber(os.getenv("START") or "0")
    lines = {}
    local i = 0
    for line in io.lines(os.getenv("REQUESTS")) do
        if i >= start and i % count == id then table.insert(lines, line) end
        i = i + 1
    end
    next_line = 1
end

function request()
    local line = lines[next_line]
    next_line = next_line % #lines + 1
    local tab = string.find(line, "\t", 1, true)
    local headers = {}
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Twilio-Signature"] = string.sub(line, 1, tab - 1)
    return wrk.format("POST", "/webhooks/twilio/inbound", headers, string.sub(line, tab + 1))
end

function done(summary, latency, requests)
    io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p99_us=%d p50_us=%d\n", summary.requests,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        summary.errors.status, latency:percentile(99), latency:percentile(50)))
end

-- wrk script: GET of the URL given to wrk (/healthz, /metrics), reporting like inbound.lua.
function done(summary, latency, requests)
    io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p99_us=%d p50_us=%d\n", summary.requests,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        summary.errors.status, latency:percentile(99), latency:percentile(50)))
end

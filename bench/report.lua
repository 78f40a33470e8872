-- SPDX-License-Identifier: MIT
-- wrk script for bench/bench.py: only done(), so wrk keeps sending its one
-- static request (no Lua on the request path). Prints the run's exact
-- numbers as one line that bench.py reads; wrk's own --latency report
-- stays above it for a person.
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH-RESULT {"duration_us": %.0f, "requests": %.0f, "bytes": %.0f, ' ..
      '"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, ' ..
      '"p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, "max_us": %.0f, "mean_us": %.1f}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0),
      latency.max, latency.mean))
end

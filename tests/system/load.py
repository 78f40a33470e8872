# SPDX-License-Identifier: MIT
"""A steady load for the restart tests: RATE requests a second for SECONDS,
each GET on a new connection (Connection: close), paced from the start time
so a slow answer does not slow the load. Prints "running" once a quarter of
the requests have been sent (the caller acts then), and at the end one JSON
line: sent, ok, and each failure (request number, what went wrong).

    python3 load.py HOST PORT PATH RATE SECONDS
"""

import asyncio
import json
import sys
import time


async def one(host, port, path, number, failures):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 20)
        writer.close()
        status = data.split(b"\r\n", 1)[0]
        if not status.startswith(b"HTTP/1.1 200 "):
            failures.append((number, status.decode(errors="replace") or "no response"))
            return False
        return True
    except (OSError, asyncio.TimeoutError) as e:
        failures.append((number, repr(e)))
        return False


async def main(host, port, path, rate, seconds):
    total = int(rate * seconds)
    failures, tasks = [], []
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(host, port, path, i, failures)))
        if i == total // 4:
            print("running", flush=True)
    results = await asyncio.gather(*tasks)
    print(json.dumps({"sent": total, "ok": sum(results), "failures": failures[:20],
                      "failed": len(failures)}), flush=True)


if __name__ == "__main__":
    h, p, u, r, s = sys.argv[1:6]
    asyncio.run(main(h, int(p), u, float(r), float(s)))

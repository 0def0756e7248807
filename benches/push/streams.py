"""Opens many event streams on a running moodring, one per session as browser pages would, and
measures what they cost and how fast a change reaches them.

    python3 benches/push/streams.py BASE KEY PID [STREAMS] [CHANGES]

Prints the server's resident memory before and after opening STREAMS (5,000) streams, then posts
a change to CHANGES (200) of those sessions one at a time and prints how long each took from the
POST's answer to the event on its session's stream (median, p99, max), and that every stream
is still open. Standard library only."""

import asyncio
import json
import statistics
import sys
import time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


async def open_stream(host, port, key, session):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /v1/sessions/{session}/mood/stream HTTP/1.1\r\nHost: {host}\r\nX-Api-Key: {key}\r\n"
        f"Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return reader, writer


async def next_event(reader):
    """The next `data:` line's JSON (chunked framing and comments skipped)."""
    while True:
        line = await reader.readline()
        if not line:
            raise EOFError
        if line.startswith(b"data: "):
            return json.loads(line[6:])


async def post(host, port, key, session, events):
    reader, writer = await asyncio.open_connection(host, port)
    body = json.dumps({"events": events}).encode()
    writer.write(
        f"POST /v1/sessions/{session}/events HTTP/1.1\r\nHost: {host}\r\nX-Api-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


async def main():
    base, key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    streams = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    changes = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    host, port = base.removeprefix("http://").split(":")
    port = int(port)
    before = rss_mb(pid)
    opened = []
    for start in range(0, streams, 500):
        opened += await asyncio.gather(
            *(open_stream(host, port, key, f"page-{i}") for i in range(start, min(start + 500, streams)))
        )
    await asyncio.sleep(2)
    after = rss_mb(pid)
    print(f"streams open: {len(opened)}")
    print(f"server RSS: {before:.1f} MB before, {after:.1f} MB with the streams open "
          f"({(after - before) * 1024 / streams:.1f} KB a stream)")

    now = int(time.time() * 1000)
    latencies = []
    step = max(1, streams // changes)
    for n in range(changes):
        i = n * step
        reader = opened[i][0]
        waiting = asyncio.ensure_future(next_event(reader))  # session.started
        await post(host, port, key, f"page-{i}", [{"type": "click", "ts": (now + n) / 1000}])
        posted = time.perf_counter()
        message = await asyncio.wait_for(waiting, 10)
        latencies.append((time.perf_counter() - posted) * 1000)
        assert message["data"]["session_id"] == f"page-{i}", message
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"change → stream, after the POST's answer: median {statistics.median(latencies):.1f} ms, "
          f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms ({changes} changes)")
    alive = sum(1 for r, w in opened if not r.at_eof() and not w.is_closing())
    print(f"streams still open: {alive}; server RSS now {rss_mb(pid):.1f} MB")
    for _, w in opened:
        w.close()


asyncio.run(main())

"""A webhook receiver for benchmarks, on PORT. `dead`: accepts connections and never answers,
so every delivery attempt waits out its 15 s timeout holding one of the sender's slots (the
worst a receiver can do). `answer`: answers every delivery at once with 204 (a healthy one).
Standard library only.

    python3 benches/push/receiver.py PORT dead|answer"""

import asyncio
import sys


async def answer(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def dead(reader, writer):
    await asyncio.Event().wait()  # kept open, never read or answered


async def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    server = await asyncio.start_server({"dead": dead, "answer": answer}[mode], "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


asyncio.run(main())

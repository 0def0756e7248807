"""A dead webhook receiver: accepts connections on PORT and never answers, so every delivery
attempt waits out its 15 s timeout holding one of the sender's slots (the worst a receiver can
do). Standard library only.

    python3 benches/push/blackhole.py PORT"""

import socket
import sys
import threading

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(4096)
held = []
lock = threading.Lock()
while True:
    connection, _ = server.accept()
    with lock:
        held.append(connection)  # kept open, never read or answered

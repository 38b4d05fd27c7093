"""The worker's side of a private network namespace: listening sockets handed over.

In the box's network namespace only a loopback interface exists, brought up by bubblewrap.
The worker opens the listening sockets the supervisor's image servers will use, and passes
them over a Unix socket: the servers live in the supervisor, the connections in the
worker's namespace, and nothing else is reachable.
"""

from __future__ import annotations

import json
import socket


def hand_over_listeners(channel_fd: int, count: int) -> None:
    """Opens ``count`` listening sockets on 127.0.0.1 and sends them to the supervisor."""
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [listener.getsockname()[1] for listener in listeners]
    with socket.socket(fileno=channel_fd) as channel:
        socket.send_fds(channel, [json.dumps(ports).encode()], [s.fileno() for s in listeners])
        channel.recv(1)  # the supervisor has them: our copies can go
    for listener in listeners:
        listener.close()

"""The worker's side of a private network namespace: loopback up, listening sockets handed over.

In the box's network namespace only a loopback interface exists. The worker opens the
listening sockets the supervisor's image servers will use, and passes them over a Unix
socket: the servers live in the supervisor, the connections in the worker's namespace,
and nothing else is reachable.
"""

from __future__ import annotations

import fcntl
import json
import socket
import struct

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def bring_loopback_up() -> None:
    """bubblewrap already brings it up; only a bare ``unshare --net`` leaves it down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(probe, _SIOCGIFFLAGS, request))[1]
        if not flags & _IFF_UP:
            fcntl.ioctl(probe, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def hand_over_listeners(channel_fd: int, count: int) -> None:
    """Opens ``count`` listening sockets on 127.0.0.1 and sends them to the supervisor."""
    bring_loopback_up()
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [listener.getsockname()[1] for listener in listeners]
    with socket.socket(fileno=channel_fd) as channel:
        socket.send_fds(channel, [json.dumps(ports).encode()], [s.fileno() for s in listeners])
        channel.recv(1)  # the supervisor has them: our copies can go
    for listener in listeners:
        listener.close()

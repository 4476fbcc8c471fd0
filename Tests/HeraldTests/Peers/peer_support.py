"""What every peer does to be found: Peer.swift waits for DIR/port, written whole (through a
temporary file renamed into place) once the peer is listening."""
import os
import socket


def announce_port(directory, port):
    """Writes DIR/port atomically: a reader never sees it half written."""
    with open(os.path.join(directory, "port.tmp"), "w") as f:
        f.write(str(port))
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))


def tcp_listener(directory, backlog):
    """A TCP socket listening on 127.0.0.1 (any free port), announced in DIR/port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    announce_port(directory, listener.getsockname()[1])
    return listener

"""A TCP proxy in front of PostgreSQL that can cut every connection on demand, from the
client's side only: the server sees its client vanish but goes on with the statement it
is running (and commits it), exactly what a network failure between Herald and the
database looks like at the worst moment.

usage: tcp_proxy.py DIR TARGET_PORT
Writes DIR/port when listening. While DIR/drop exists, every open connection is cut (the
file is then removed); DIR/drops counts the cuts made. While DIR/blackhole exists, the
database goes silent: bytes in either direction are swallowed, and new connections are
accepted but never reach the server (a firewall dropping packets, a hung server)."""
import os
import socket
import sys
import threading
import time
from peer_support import tcp_listener

directory, target = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
pairs = []
held = []
drops = 0


def silent():
    return os.path.exists(os.path.join(directory, "blackhole"))


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not silent():
                dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def watch():
    global drops
    flag = os.path.join(directory, "drop")
    while True:
        if os.path.exists(flag):
            with lock:
                for client, server in pairs:
                    # Only the client's side: the server keeps its socket until it next writes.
                    # Shut down, not closed: a pump thread may be about to write to it, and a
                    # closed descriptor's number goes to the next connection accepted (the
                    # daemon's reconnect), which would then receive this one's bytes. The
                    # socket is closed once both pumps have let go of it.
                    try:
                        client.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                pairs.clear()
                drops += 1
                with open(os.path.join(directory, "drops"), "w") as f:
                    f.write(str(drops))
            os.remove(flag)
        time.sleep(0.01)


def main():
    listener = tcp_listener(directory, 64)
    threading.Thread(target=watch, daemon=True).start()
    while True:
        client, _ = listener.accept()
        if silent():
            held.append(client)  # accepted, never answered
            continue
        server = socket.create_connection(("127.0.0.1", target))
        with lock:
            pairs.append((client, server))
        threading.Thread(target=pump, args=(client, server), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()


if __name__ == "__main__":
    main()

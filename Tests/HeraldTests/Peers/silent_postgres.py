"""A PostgreSQL server that lets a client in and then never answers: the startup handshake
completes (trust authentication, ReadyForQuery), and every statement after it waits forever.
What a hung server behind a live kernel looks like: TCP keepalives are answered, no
statement ever is.

usage: silent_postgres.py DIR
Writes DIR/port when listening; appends each statement's text it received to DIR/queries."""
import os
import struct
import sys
import threading
from peer_support import tcp_listener

directory = sys.argv[1]


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve(conn):
    try:
        while True:  # SSL and GSS encryption requests are refused, then the startup packet
            length, code = struct.unpack("!ii", read_exact(conn, 8))
            rest = read_exact(conn, length - 8)
            if code in (80877103, 80877104):
                conn.sendall(b"N")
                continue
            break
        del rest
        conn.sendall(b"R" + struct.pack("!ii", 8, 0))  # AuthenticationOk
        conn.sendall(b"K" + struct.pack("!iii", 12, os.getpid(), 42))  # BackendKeyData
        conn.sendall(b"Z" + struct.pack("!i", 5) + b"I")  # ReadyForQuery, idle
        while True:
            kind = read_exact(conn, 1)
            (length,) = struct.unpack("!i", read_exact(conn, 4))
            body = read_exact(conn, length - 4)
            if kind == b"X":
                break
            if kind == b"Q":
                with open(os.path.join(directory, "queries"), "a") as f:
                    f.write(body.rstrip(b"\0").decode("utf-8", "replace") + "\n")
            # never answered
    except (EOFError, OSError):
        pass


def main():
    listener = tcp_listener(directory, 16)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()

"""A TCP gate whose connects hang until it is opened.

It listens with a backlog of 0 and fills that backlog with one connection of its own, so the kernel drops every
other SYN (the client retransmits it at 1 s, 3 s, 7 s, ...). On "open" (a line on stdin) it drains the backlog
and from then on accepts and proxies to 127.0.0.1:<target>. Prints "port <n>" once listening and "accepted" for
each proxied connection.
"""
import socket
import sys
import threading

target = int(sys.argv[1])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(0)
port = server.getsockname()[1]
filler = socket.create_connection(("127.0.0.1", port))
print(f"port {port}", flush=True)


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


sys.stdin.readline()
# The filler's accepted end: drain it, the backlog has room again.
first, _ = server.accept()
first.close()
filler.close()
while True:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", target))
    print("accepted", flush=True)
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

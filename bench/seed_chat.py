#!/usr/bin/env python3
"""seed_chat.py - the seed notebook's ChatServer ported to asyncio, as a peer.

What the seed did: clients kept by peer address, every line broadcast to
every client, the sender included, the name being "host:port", /exit to
leave, CRLF at the end of every line sent.  Changes, so that chatd-bench
drives it exactly as it drives chatd: the seed's "host:port\\nmessage\\r\\n"
became chatd's "NAME: TEXT\\r\\n"; lines end at LF (a CR before it is
dropped) instead of whatever one recv(1024) returned; /nick NAME and a
"* error: unknown command" reply for other /commands (so a benchmark can
prove a connection is served without broadcasting).  Like the seed, it
queues without bound for a client that does not read.

usage: seed_chat.py PORT
"""
import asyncio
import re
import sys

NICK = re.compile(rb"^[A-Za-z0-9_.-]{1,32}$")


class ChatServer:
    def __init__(self):
        self.clients = {}  # writer -> name (bytes)

    def broadcast(self, data):
        for w in self.clients:
            w.write(data)

    def nick(self, writer, arg):
        new = arg.strip()
        if not new:
            writer.write(b"* error: usage: /nick NAME\r\n")
        elif not NICK.match(new):
            writer.write(b"* error: invalid nickname\r\n")
        elif any(n.lower() == new.lower() for w, n in self.clients.items() if w is not writer):
            writer.write(b"* error: nickname in use\r\n")
        else:
            old = self.clients[writer]
            self.clients[writer] = new
            self.broadcast(b"* " + old + b" is now known as " + new + b"\r\n")

    async def handle(self, reader, writer):
        host, port = writer.get_extra_info("peername")[:2]
        self.clients[writer] = f"{host}:{port}".encode()
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than the stream limit: drop it
                    continue
                if not line:
                    break
                text = line.rstrip(b"\n")
                if text.endswith(b"\r"):
                    text = text[:-1]
                if not text:
                    continue
                if text.startswith(b"/"):
                    cmd, _, arg = text.partition(b" ")
                    cmd = cmd.lower()
                    if cmd in (b"/exit", b"/quit"):
                        writer.write(b"* bye\r\n")
                        break
                    if cmd == b"/nick":
                        self.nick(writer, arg)
                    else:
                        writer.write(b"* error: unknown command\r\n")
                    continue
                self.broadcast(self.clients[writer] + b": " + text + b"\r\n")
        except ConnectionError:
            pass
        finally:
            self.clients.pop(writer, None)
            writer.close()


async def main(port):
    chat = ChatServer()
    server = await asyncio.start_server(chat.handle, host="127.0.0.1", port=port,
                                        backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: seed_chat.py PORT")
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass

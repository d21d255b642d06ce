#!/usr/bin/env python3
"""seed_echo.py - the seed notebook's asyncio echo server, as a benchmark peer.

The notebook's echo_handle() read up to 1024 bytes once, wrote them back,
drained and closed.  To be measurable with request/response traffic the one
exchange became a loop until EOF; everything else is as the seed wrote it:
asyncio.start_server on 127.0.0.1, read, write, drain.

usage: seed_echo.py PORT
"""
import asyncio
import sys

READ_SIZE = 1024  # the seed's r.read(1024)


async def echo_handle(reader, writer):
    try:
        while True:
            message = await reader.read(READ_SIZE)
            if not message:
                break
            writer.write(message)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(echo_handle, host="127.0.0.1", port=port,
                                        backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: seed_echo.py PORT")
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass

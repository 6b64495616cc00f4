"""A TCP proxy between a collector and the platform that can cut the line (asyncio, in its own thread).

Modes: ``open`` forwards both ways; ``drop`` resets every new connection at once (a firewall that
rejects); ``stall`` accepts and reads but never answers (a link that black-holes). Going back to
``open`` closes the stalled connections, as a link that comes back would break them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from typing import Literal

Mode = Literal["open", "drop", "stall"]


class CutOffProxy:
    def __init__(self, upstream_port: int, mode: Mode = "open") -> None:
        self.upstream_port = upstream_port
        self.mode: Mode = mode
        self.connections: Counter[str] = Counter()  # per mode at accept time
        self.loop = asyncio.new_event_loop()
        self.stalled: set[asyncio.StreamWriter] = set()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self.loop.run_forever, name="cutoff-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=10)

    def stop(self) -> None:
        self.set_mode("drop")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode != "stall":
            self.loop.call_soon_threadsafe(self._release_stalled)

    async def _serve(self) -> None:
        self.server = await asyncio.start_server(self._handle, sock=self.sock)

    def _release_stalled(self) -> None:
        for writer in self.stalled:
            writer.transport.abort()
        self.stalled.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        self.connections[mode] += 1
        if mode == "drop":
            writer.transport.abort()
        elif mode == "stall":
            self.stalled.add(writer)
            while await reader.read(65536):
                pass  # swallow the request; the answer never comes
        else:
            await self._forward(reader, writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

"""A slow SMTP server (RFC 5321, plain asyncio on 127.0.0.1 at a free port)
for the send time limits: .stall = "greeting", "data" or "quit" makes it
wait .stall_s seconds before the greeting, before the final reply to DATA
(the message is kept only once that reply is sent: a client that hung up
or sent anything first gave up, and did not hand it over), or before the reply to QUIT. .stall_first
limits the stall to the first connection. .message_ids lists the
Message-ID of every message kept, so a test counts deliveries.
"""
import asyncio
import email
import socket
import threading


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SlowSmtp:
    def __init__(self, stall=None, stall_s=30.0, stall_first=False):
        self.stall = stall
        self.stall_s = stall_s
        self.stall_first = stall_first
        self.message_ids = []
        self.connections = 0
        self.lock = threading.Lock()
        self.port = _free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None

    def _stalls(self, what, n):
        return self.stall == what and (not self.stall_first or n == 1)

    async def _wait(self, what, n, w):
        if self._stalls(what, n):
            await asyncio.sleep(self.stall_s)
        return not w.is_closing()

    async def _session(self, r, w):
        with self.lock:
            self.connections += 1
            n = self.connections
        try:
            await self._wait("greeting", n, w)
            w.write(b"220 slow.example ESMTP\r\n")
            await w.drain()
            while True:
                line = await r.readline()
                if not line:
                    return
                verb = line.decode("latin-1").strip().split(" ")[0].upper()
                if verb in ("EHLO", "HELO"):
                    w.write(b"250-slow.example\r\n250 8BITMIME\r\n")
                elif verb == "DATA":
                    w.write(b"354 go ahead\r\n")
                    await w.drain()
                    data = bytearray()
                    while True:
                        ln = await r.readline()
                        if not ln or ln in (b".\r\n", b".\n"):
                            break
                        data += ln[1:] if ln.startswith(b".") else ln
                    if not ln:
                        return
                    if self._stalls("data", n):
                        try:  # EOF or QUIT before the stall ends: the client gave up
                            await asyncio.wait_for(r.read(1), self.stall_s)
                            return
                        except asyncio.TimeoutError:
                            pass
                    w.write(b"250 queued\r\n")
                    await w.drain()
                    mid = email.message_from_bytes(bytes(data)).get("Message-ID", "")
                    with self.lock:
                        self.message_ids.append(mid.strip())
                    continue
                elif verb == "QUIT":
                    await self._wait("quit", n, w)
                    w.write(b"221 bye\r\n")
                    await w.drain()
                    return
                elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                    w.write(b"250 OK\r\n")
                else:
                    w.write(b"502 not here\r\n")
                await w.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            w.close()

    def start(self):
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._session, "127.0.0.1", self.port), self._loop)
        self._server = fut.result(5)
        return self

    def stop(self):
        async def close():
            self._server.close()
            for t in asyncio.all_tasks():
                if t is not asyncio.current_task():
                    t.cancel()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

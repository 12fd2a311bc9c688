#!/usr/bin/env python3
"""A fault-injecting proxy on loopback that a test controls (issue 12, parts 3 and 4).

  fault_proxy.py tcp  LISTEN_PORT UPSTREAM_HOST:PORT CONTROL_PORT
  fault_proxy.py http LISTEN_PORT UPSTREAM_HOST:PORT CONTROL_PORT

It prints "ready" once both ports listen. The test sends one command a line to CONTROL_PORT and
reads one answer line ("ok ..." or "error ...").

tcp mode forwards bytes (TLS passes through untouched):
  pass        forward everything, new and current connections (undoes stall)
  cut         close every current connection at once, mid-stream; new ones are forwarded
  stall       current connections stop forwarding in both directions but stay open (a dead
              peer); new connections are forwarded
  stall-all   as stall, and new connections are accepted but stalled too
  refuse      cut every current connection, and close new ones at once (the server is away)
  count       the number of connections open

http mode is a reverse proxy for plain HTTP/1.1, one request per connection (it answers with
Connection: close). Faults apply to the next N requests whose "METHOD PATH" matches a regex:
  fault REGEX N status CODE [RETRY_AFTER]   answer CODE (with Retry-After) without forwarding
  fault REGEX N reset                       read half the request body, then reset the connection
  fault REGEX N slow SECONDS                forward, but answer only after SECONDS
  clear                                     drop every fault rule
  log                                       "ok" and every request seen so far, "METHOD PATH CODE|-"
                                            joined by " | " (- when reset)
"""
import asyncio
import re
import socket
import struct
import sys


class TcpProxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.conns = {}  # id -> (client_writer, upstream_writer, state dict)
        self.stall_new = False
        self.refuse = False

    async def handle(self, reader, writer):
        if self.refuse:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        state = {"flowing": asyncio.Event()}
        if not self.stall_new:
            state["flowing"].set()
        key = id(state)
        self.conns[key] = (writer, up_writer, state)

        async def pump(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    await state["flowing"].wait()  # stalled: held open, forwarding nothing
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                for w in (dst, src_writer_of(src)):
                    if w is not None:
                        w.close()

        def src_writer_of(src):
            return writer if src is reader else up_writer

        tasks = [asyncio.ensure_future(pump(reader, up_writer)), asyncio.ensure_future(pump(up_reader, writer))]
        state["tasks"] = tasks
        await asyncio.gather(*tasks, return_exceptions=True)
        self.conns.pop(key, None)

    def command(self, words):
        op = words[0]
        if op == "pass":
            self.stall_new = self.refuse = False
            for _, _, state in list(self.conns.values()):
                state["flowing"].set()
            return "ok"
        if op in ("stall", "stall-all"):
            self.stall_new = op == "stall-all"
            for _, _, state in list(self.conns.values()):
                state["flowing"].clear()
            return "ok %d stalled" % len(self.conns)
        if op in ("cut", "refuse"):
            self.refuse = op == "refuse"
            n = len(self.conns)
            for w, uw, state in list(self.conns.values()):
                for writer in (w, uw):
                    sock = writer.get_extra_info("socket")
                    if sock is not None:  # RST, not FIN: a cut, as a dropped route looks
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.close()
                for t in state.get("tasks", []):
                    t.cancel()
            return "ok %d cut" % n
        if op == "count":
            return "ok %d" % len(self.conns)
        return "error unknown command " + op


class HttpProxy:
    def __init__(self, upstream):
        self.upstream = upstream
        self.rules = []  # [regex, remaining, action, args]
        self.seen = []

    def match(self, line):
        for rule in self.rules:
            if rule[1] > 0 and rule[0].search(line):
                rule[1] -= 1
                return rule
        return None

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[0:2]
        headers = [l for l in lines[1:] if l]
        length = 0
        for h in headers:
            if h.lower().startswith("content-length:"):
                length = int(h.split(":", 1)[1])
        line = method + " " + path
        rule = self.match(line)
        try:
            if rule and rule[2] == "reset":
                await reader.readexactly(length // 2)
                self.seen.append(line + " -")
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.close()
                return
            body = await reader.readexactly(length) if length else b""
            if rule and rule[2] == "status":
                code = int(rule[3][0])
                extra = "Retry-After: %s\r\n" % rule[3][1] if len(rule[3]) > 1 else ""
                msg = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by fault_proxy"}]}'
                writer.write(("HTTP/1.1 %d Injected\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s"
                              "Connection: close\r\n\r\n" % (code, len(msg), extra)).encode() + msg)
                await writer.drain()
                self.seen.append("%s %d" % (line, code))
                writer.close()
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            kept = [h for h in headers if not h.lower().startswith(("connection:", "keep-alive:"))]
            up_writer.write(("\r\n".join([lines[0]] + kept + ["Connection: close", "", ""])).encode("latin-1") + body)
            await up_writer.drain()
            response = await up_reader.read()  # the upstream closes after one answer
            up_writer.close()
            if rule and rule[2] == "slow":
                await asyncio.sleep(float(rule[3][0]))
            # One request per connection: tell the client so.
            end = response.find(b"\r\n\r\n")
            if end >= 0:
                status_and_headers = response[:end].split(b"\r\n")
                kept = [h for h in status_and_headers[1:] if not h.lower().startswith((b"connection:", b"keep-alive:"))]
                response = b"\r\n".join([status_and_headers[0]] + kept + [b"Connection: close"]) + response[end:]
            code = response.split(b" ", 2)[1].decode() if response else "-"
            self.seen.append("%s %s" % (line, code))
            writer.write(response)
            await writer.drain()
        except (asyncio.IncompleteReadError, OSError):
            self.seen.append(line + " -")
        finally:
            writer.close()

    def command(self, words):
        op = words[0]
        if op == "fault" and len(words) >= 4:
            self.rules.append([re.compile(words[1]), int(words[2]), words[3], words[4:]])
            return "ok"
        if op == "clear":
            self.rules = []
            return "ok"
        if op == "log":
            return "ok " + " | ".join(self.seen)
        return "error unknown command " + " ".join(words)


async def main():
    mode, listen, upstream, control = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    host, port = upstream.rsplit(":", 1)
    proxy = (TcpProxy if mode == "tcp" else HttpProxy)((host, int(port)))

    async def control_handler(reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            words = line.decode().split()
            writer.write(((proxy.command(words) if words else "error empty command") + "\n").encode())
            await writer.drain()
        writer.close()

    await asyncio.start_server(proxy.handle, "127.0.0.1", listen)
    await asyncio.start_server(control_handler, "127.0.0.1", control)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

"""Raw HTTP/2 frames against fcaudit (run by tests/integration/test_proxy_h2.c, one scenario per
run): a client that sends CONNECT to the proxy, speaks TLS with ALPN h2 inside the tunnel and
then writes frames byte for byte (hyperframe, hpack), so it can do what a well-behaved client
library refuses to: resets in a burst, HPACK bombs, CONTINUATION floods, bad stream ids.
Exit status 0 when the scenario saw what RFC 9113 and fcaudit's limits say it must.

  h2frames.py SCENARIO --proxy PORT --origin PORT --ca PROXY_CA_PEM [--pid PROXY_PID]
"""

import argparse
import os
import signal
import socket
import ssl
import sys
import time

from hpack import Decoder, Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HOST = "shop.test"
ENHANCE_YOUR_CALM = 0xB
PROTOCOL_ERROR = 0x1
REFUSED_STREAM = 0x7


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def tunnel(a):
    """A socket through the proxy's CONNECT to the origin, and the proxy's answer head."""
    raw = socket.create_connection(("127.0.0.1", a.proxy), timeout=10)
    target = "%s:%d" % (HOST, a.origin)
    raw.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = raw.recv(1)
        check(b, "the proxy closed instead of answering CONNECT")
        head += b
    return raw, head


class Conn:
    """One HTTP/2 connection through the proxy's CONNECT tunnel."""

    def __init__(self, a, window=65535):
        self.a = a
        raw, head = tunnel(a)
        check(head.startswith(b"HTTP/1.1 200"), "CONNECT answered %r" % head[:40])
        ctx = ssl.create_default_context(cafile=a.ca)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        self.s = ctx.wrap_socket(raw, server_hostname=HOST)
        check(self.s.selected_alpn_protocol() == "h2",
              "ALPN chose %r, not h2" % self.s.selected_alpn_protocol())
        self.enc = Encoder()
        self.dec = Decoder()
        self.buf = b""
        self.settings = {}
        self.goaway = None
        self.closed = False
        self.streams = {}  # id -> {"headers": [...], "data": bytearray, "end": bool, "rst": code}
        self.s.sendall(PREFACE)
        sf = SettingsFrame(0)
        sf.settings = {SettingsFrame.INITIAL_WINDOW_SIZE: window, SettingsFrame.ENABLE_PUSH: 0}
        self.send(sf)
        self.next_id = 1

    batch = None  # a list while frames are collected to go out in one write

    def send(self, frame):
        if self.batch is not None:
            self.batch.append(frame.serialize())
            return
        try:
            self.s.sendall(frame.serialize())
        except OSError:
            self.closed = True  # what the proxy said before closing is still read

    def send_raw(self, b):
        self.s.sendall(b)

    def stream(self, sid):
        return self.streams.setdefault(sid, {"headers": [], "data": bytearray(), "end": False,
                                             "rst": None})

    def request(self, path, method="GET", extra=(), end=True, sid=None):
        sid = sid or self.next_id
        self.next_id = max(self.next_id, sid + 2)
        hdrs = [(":method", method), (":scheme", "https"),
                (":authority", "%s:%d" % (HOST, self.a.origin)), (":path", path)] + list(extra)
        self.send_block(sid, self.enc.encode(hdrs), end)
        self.stream(sid)
        return sid

    def send_block(self, sid, block, end):
        """A header block in HEADERS and CONTINUATION frames of at most 16384 bytes."""
        first, block = block[:16384], block[16384:]
        hf = HeadersFrame(sid)
        hf.data = first
        if end:
            hf.flags.add("END_STREAM")
        if not block:
            hf.flags.add("END_HEADERS")
        self.send(hf)
        while block:
            cf = ContinuationFrame(sid)
            cf.data, block = block[:16384], block[16384:]
            if not block:
                cf.flags.add("END_HEADERS")
            self.send(cf)

    def read_frame(self, timeout):
        self.s.settimeout(timeout)
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            try:
                b = self.s.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            except (ConnectionResetError, ssl.SSLError, OSError):
                b = b""
            if not b:
                self.closed = True
                return None
            self.buf += b
        f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
        f.parse_body(memoryview(self.buf[9:9 + length]))
        self.buf = self.buf[9 + length:]
        self.handle(f)
        return f

    def handle(self, f):
        if isinstance(f, SettingsFrame):
            if "ACK" not in f.flags:
                self.settings.update(f.settings)
                ack = SettingsFrame(0)
                ack.flags.add("ACK")
                self.send(ack)
        elif isinstance(f, PingFrame) and "ACK" not in f.flags:
            p = PingFrame(0)
            p.opaque_data = f.opaque_data
            p.flags.add("ACK")
            self.send(p)
        elif isinstance(f, GoAwayFrame):
            self.goaway = (f.last_stream_id, f.error_code)
        elif isinstance(f, HeadersFrame):
            st = self.stream(f.stream_id)
            st["headers"].append(dict(self.dec.decode(f.data)))
            if "END_STREAM" in f.flags:
                st["end"] = True
        elif isinstance(f, DataFrame):
            st = self.stream(f.stream_id)
            st["data"] += f.data
            if "END_STREAM" in f.flags:
                st["end"] = True
            if self.auto_window and f.flow_controlled_length:
                self.window_update(f.stream_id, f.flow_controlled_length)
        elif isinstance(f, RstStreamFrame):
            self.stream(f.stream_id)["rst"] = f.error_code

    auto_window = True

    def window_update(self, sid, n):
        for i in (0, sid):
            w = WindowUpdateFrame(i)
            w.window_increment = n
            self.send(w)

    def run_until(self, cond, timeout=10):
        end = time.time() + timeout
        while not cond():
            left = end - time.time()
            if left <= 0 or self.closed:
                return cond()
            self.read_frame(min(left, 0.5))
        return True

    def response(self, sid, timeout=10):
        st = self.stream(sid)
        self.run_until(lambda: st["end"] or st["rst"] is not None, timeout)
        return st

    def status(self, st):
        for h in st["headers"]:
            if ":status" in h and not h[":status"].startswith("1"):
                return int(h[":status"])
        return None


def origin_pattern(n):
    return bytes(((i * 31 + 7) & 0xFF) for i in range(n))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- scenarios ----

def basic(a):
    c = Conn(a)
    c.run_until(lambda: SettingsFrame.MAX_CONCURRENT_STREAMS in c.settings)
    check(c.settings.get(SettingsFrame.MAX_CONCURRENT_STREAMS) == 100,
          "SETTINGS_MAX_CONCURRENT_STREAMS %r" % c.settings)
    check(c.settings.get(SettingsFrame.MAX_HEADER_LIST_SIZE) == 65536,
          "SETTINGS_MAX_HEADER_LIST_SIZE %r" % c.settings)
    check(SettingsFrame.ENABLE_CONNECT_PROTOCOL not in c.settings,
          "extended CONNECT must not be advertised (WebSocket falls back to HTTP/1.1)")
    # GET, chunked response de-chunked, HEAD, POST with a body of unknown length.
    sid = c.request("/echo?x=1", extra=[("cookie", "a=1"), ("user-agent", "h2frames"),
                                        ("cookie", "b=2"), ("te", "trailers")])
    st = c.response(sid)
    check(c.status(st) == 200, "GET /echo: %r" % st)
    body = bytes(st["data"])
    check(b"GET /echo?x=1 HTTP/1.1\r\n" in body, body[:200])
    check(b"\r\nCookie: a=1; b=2\r\n" in body, "cookie crumbs joined with '; ': %r" % body)
    check(b"\r\nHost: shop.test:%d\r\n" % a.origin in body, body)
    check(b"\r\nte:" not in body.lower(), "TE is hop-by-hop: %r" % body)
    sid = c.request("/chunked-trailers")
    st = c.response(sid)
    check(bytes(st["data"]) == b"hello world", "chunks de-framed: %r" % bytes(st["data"]))
    hdrs = st["headers"][0]
    check("transfer-encoding" not in hdrs and "connection" not in hdrs, hdrs)
    sid = c.request("/size/1000", method="HEAD")
    st = c.response(sid)
    check(c.status(st) == 200 and len(st["data"]) == 0 and st["end"], "HEAD: %r" % st)
    check(st["headers"][0].get("content-length") == "1000", st["headers"])
    sid = c.request("/echo", method="POST", end=False)
    for part in (b"a" * 1000, b"b" * 2000):
        d = DataFrame(sid)
        d.data = part
        c.send(d)
    d = DataFrame(sid)
    d.flags.add("END_STREAM")
    c.send(d)
    st = c.response(sid)
    body = bytes(st["data"])
    check(b"body-length: 3000\n" in body and b"body-chunked: yes\n" in body, body[:300])
    # A malformed request (connection-specific field) is a stream error, not a dead connection.
    sid = c.request("/echo", extra=[("connection", "keep-alive")])
    st = c.response(sid)
    check(st["rst"] == PROTOCOL_ERROR, "connection: keep-alive must reset: %r" % st)
    sid = c.request("/echo", extra=[("te", "gzip")])
    st = c.response(sid)
    check(st["rst"] == PROTOCOL_ERROR, "te other than trailers must reset: %r" % st)
    sid = c.request("/echo")
    check(c.status(c.response(sid)) == 200, "the connection lives on after stream errors")
    # A request for another host than the tunnel's (connection coalescing) is misdirected.
    hf_sid = c.next_id
    c.next_id += 2
    c.send_block(hf_sid, c.enc.encode([(":method", "GET"), (":scheme", "https"),
                                       (":authority", "other.test"), (":path", "/echo")]), True)
    st = c.response(hf_sid)
    check(c.status(st) == 421, "another host on this connection: 421, got %r" % st)


def concurrent(a):
    c = Conn(a)
    ids = [c.request("/size/%d" % (1000 + i)) for i in range(60)]
    for i, sid in enumerate(ids):
        st = c.response(sid, 20)
        check(c.status(st) == 200 and bytes(st["data"]) == origin_pattern(1000 + i),
              "stream %d: %r" % (sid, c.status(st)))


def flow_response(a):
    """A client that grants no window: the proxy stops reading the origin (bounded memory),
    and everything arrives intact once the window opens."""
    c = Conn(a, window=65535)
    c.auto_window = False
    n = 64 * 1024 * 1024
    before = rss_kb(a.pid)
    sid = c.request("/size/%d" % n)
    c.run_until(lambda: len(c.stream(sid)["data"]) >= 65535, 10)
    time.sleep(1.5)  # the origin would send everything in this time if it were read
    grew = rss_kb(a.pid) - before
    check(len(c.stream(sid)["data"]) == 65535, "more than the window: %d" % len(c.stream(sid)["data"]))
    check(grew < 12 * 1024, "proxy RSS grew by %d KiB while the client's window was closed" % grew)
    c.auto_window = True
    c.window_update(sid, 16 * 1024 * 1024)
    st = c.response(sid, 60)
    check(st["end"] and len(st["data"]) == n, "got %d of %d bytes" % (len(st["data"]), n))
    check(bytes(st["data"][:100000]) == origin_pattern(100000), "bytes changed")


def metric(a, name):
    """One sample of the proxy's /metrics (its admin listener, --admin 127.0.0.1:PORT)."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % a.admin, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
    raise Fail("no %s in /metrics" % name)


def flow_response_bound(a):
    """Clients that never open their windows while the origin sends large bodies: what the
    proxy holds per stream (queued for the window plus read from the origin) stays within the
    stream's share of the connection's buffer budget, FCA_H2_CONN_BUFFER (1 MiB) / streams, at
    least 64 KiB and at most --buffer-limit (256 KiB), and no origin read overshoots it."""
    peak = "fcaudit_h2_stream_buffer_peak_bytes"
    n = 64 * 1024 * 1024
    for streams, cap in ((16, 64 * 1024), (1, 256 * 1024)):  # the peak only grows
        c = Conn(a, window=65535)
        c.auto_window = False
        c.run_until(lambda: SettingsFrame.MAX_CONCURRENT_STREAMS in c.settings)
        c.run_until(lambda: False, 0.3)
        c.batch = []  # every HEADERS in one write: the streams share the budget from the start
        ids = [c.request("/size/%d" % n) for _ in range(streams)]
        block, c.batch = b"".join(c.batch), None
        c.send_raw(block)
        c.run_until(lambda: sum(len(c.stream(s)["data"]) for s in ids) >= 65535, 10)
        c.run_until(lambda: False, 1.5)  # the origins would fill every buffer in this time
        held = metric(a, peak)
        print("%d stream(s): peak %d bytes held for one stream (bound %d)" % (streams, held, cap))
        check(0 < held <= cap, "a stream held %d bytes, over its bound of %d" % (held, cap))
        c.s.close()
        time.sleep(0.5)
    # And the bytes all arrive once the window opens.
    c = Conn(a, window=65535)
    c.auto_window = False
    sid = c.request("/size/%d" % (8 << 20))
    c.run_until(lambda: len(c.stream(sid)["data"]) >= 65535, 10)
    c.run_until(lambda: False, 0.5)
    c.auto_window = True
    c.window_update(sid, 16 * 1024 * 1024)
    st = c.response(sid, 60)
    check(st["end"] and bytes(st["data"]) == origin_pattern(8 << 20), "got %d bytes" %
          len(st["data"]))
    check(metric(a, peak) <= 256 * 1024, "held %d" % metric(a, peak))


def flow_request(a):
    """Request DATA beyond the initial window is accepted only as the upstream takes it."""
    c = Conn(a)
    c.run_until(lambda: SettingsFrame.INITIAL_WINDOW_SIZE in c.settings)
    win = c.settings[SettingsFrame.INITIAL_WINDOW_SIZE]
    check(win == 256 * 1024, "initial window %d" % win)
    size = 3 * 1024 * 1024
    sid = c.request("/echo", method="POST", end=False,
                    extra=[("content-length", str(size))])
    sent, stream_win, conn_win = 0, win, 65535
    updates = {"s": 0, "c": 0}
    orig = c.handle

    def handle(f):
        if isinstance(f, WindowUpdateFrame):
            updates["s" if f.stream_id else "c"] += f.window_increment
        orig(f)
    c.handle = handle
    chunk = b"z" * 16384
    deadline = time.time() + 30
    while sent < size and time.time() < deadline:
        can = min(stream_win + updates["s"], conn_win + updates["c"]) - sent
        if can <= 0:
            c.read_frame(0.5)
            continue
        part = chunk[:min(can, size - sent, 16384)]
        d = DataFrame(sid)
        d.data = part
        if sent + len(part) == size:
            d.flags.add("END_STREAM")
        c.send(d)
        sent += len(part)
    check(sent == size, "only %d bytes could be sent: the proxy gave no window back" % sent)
    st = c.response(sid, 30)
    check(b"body-length: %d\n" % size in bytes(st["data"]), bytes(st["data"])[:200])


def flow_request_bounded(a):
    """An origin that never reads: the client may send the windows and what the sockets absorb,
    never the whole 64 MiB."""
    c = Conn(a)
    c.run_until(lambda: SettingsFrame.INITIAL_WINDOW_SIZE in c.settings)
    sid = c.request("/stall", method="POST", end=False,
                    extra=[("content-length", str(64 << 20))])
    granted = {"s": c.settings[SettingsFrame.INITIAL_WINDOW_SIZE], "c": 65535}
    orig = c.handle

    def handle(f):
        if isinstance(f, WindowUpdateFrame):
            granted["s" if f.stream_id else "c"] += f.window_increment
        orig(f)
    c.handle = handle
    sent = 0
    chunk = b"q" * 16384
    end = time.time() + 4
    while time.time() < end:
        can = min(granted["s"], granted["c"]) - sent
        if can <= 0:
            c.read_frame(0.2)
            continue
        d = DataFrame(sid)
        d.data = chunk[:min(can, 16384)]
        c.send(d)
        sent += len(d.data)
    check(sent < 24 << 20, "the proxy let %d bytes in for an origin that reads nothing" % sent)


def reset_one(a):
    c = Conn(a)
    sid = c.request("/size/%d" % (32 << 20))
    c.run_until(lambda: len(c.stream(sid)["data"]) > 0)
    r = RstStreamFrame(sid)
    r.error_code = 0x8  # CANCEL
    c.send(r)
    sid2 = c.request("/size/5000")
    st = c.response(sid2)
    check(c.status(st) == 200 and bytes(st["data"]) == origin_pattern(5000),
          "a stream after a reset: %r" % c.status(st))
    check(c.goaway is None, "one reset is no abuse: %r" % (c.goaway,))


def rapid_reset(a):
    """CVE-2023-44487: HEADERS then RST_STREAM at once, in a burst."""
    c = Conn(a)
    for i in range(400):
        sid = c.request("/hang")
        r = RstStreamFrame(sid)
        r.error_code = 0x8
        try:
            c.send(r)
        except OSError:
            break
    c.run_until(lambda: c.goaway is not None, 10)
    check(c.goaway is not None and c.goaway[1] == ENHANCE_YOUR_CALM,
          "expected GOAWAY ENHANCE_YOUR_CALM, got %r" % (c.goaway,))
    c.run_until(lambda: False, 3)
    check(c.closed, "the connection must close after the GOAWAY")


def max_streams(a):
    """RFC 9113 5.1.2: a stream past SETTINGS_MAX_CONCURRENT_STREAMS is refused on its own
    (RST_STREAM REFUSED_STREAM, which clients retry); the connection and the streams within the
    limit go on."""
    c = Conn(a)
    c.run_until(lambda: SettingsFrame.MAX_CONCURRENT_STREAMS in c.settings)
    check(c.settings[SettingsFrame.MAX_CONCURRENT_STREAMS] == 100,
          "advertised limit %r" % c.settings)
    c.run_until(lambda: False, 0.3)  # our SETTINGS ACK is read before the streams
    ids = [c.request("/delay/1500") for _ in range(100)]
    over = c.request("/delay/10")  # the 101st open stream
    c.run_until(lambda: c.stream(over)["rst"] is not None or c.stream(over)["end"] or
                c.goaway is not None, 10)
    check(c.goaway is None, "one stream over the limit must not end the connection: %r" %
          (c.goaway,))
    check(c.stream(over)["rst"] == REFUSED_STREAM and not c.stream(over)["headers"],
          "the 101st concurrent stream must be refused: %r" % c.stream(over))
    for sid in ids:
        check(c.status(c.response(sid, 20)) == 200, "stream %d within the limit" % sid)
    # Once streams closed, a retry is served; 100 at once again are fine.
    check(c.status(c.response(c.request("/size/100"))) == 200, "the retry is served")
    ids = [c.request("/size/%d" % (1000 + i)) for i in range(100)]
    for i, sid in enumerate(ids):
        st = c.response(sid, 20)
        check(c.status(st) == 200 and bytes(st["data"]) == origin_pattern(1000 + i),
              "stream %d: %r" % (sid, c.status(st)))
    check(c.goaway is None, "no GOAWAY: %r" % (c.goaway,))


def refused_flood(a):
    """A client that keeps opening streams past the limit is cut off like one that keeps
    resetting them (CVE-2023-44487): each refusal counts."""
    c = Conn(a)
    c.run_until(lambda: SettingsFrame.MAX_CONCURRENT_STREAMS in c.settings)
    c.run_until(lambda: False, 0.3)
    for _ in range(100):
        c.request("/delay/5000")
    refused = 0
    for _ in range(400):
        sid = c.request("/delay/5000")
        c.run_until(lambda: c.stream(sid)["rst"] is not None or c.goaway is not None or
                    c.closed, 5)
        if c.goaway is not None or c.closed:
            break
        check(c.stream(sid)["rst"] == REFUSED_STREAM, "refused: %r" % c.stream(sid))
        refused += 1
    c.run_until(lambda: c.goaway is not None, 10)
    check(c.goaway is not None and c.goaway[1] == ENHANCE_YOUR_CALM,
          "expected GOAWAY ENHANCE_YOUR_CALM after %d refusals, got %r" % (refused, c.goaway))
    check(150 <= refused <= 250, "cut off after %d refusals" % refused)
    c.run_until(lambda: False, 3)
    check(c.closed, "the connection must close after the GOAWAY")


def header_list(a):
    c = Conn(a)
    big = [("x-big-%d" % i, "v" * 8000) for i in range(10)]  # 80 kB > --max-header-size 64k
    sid = c.request("/echo", extra=big)
    st = c.response(sid)
    check(c.status(st) == 431, "an oversized header list is answered 431: %r" % st)
    sid = c.request("/echo")
    check(c.status(c.response(sid)) == 200, "the connection lives on")


def hpack_bomb(a):
    """A 4 kB field in the dynamic table, then referenced thousands of times: a few kB on the
    wire, megabytes decoded. Answered 431 without storing it; the proxy stays small."""
    c = Conn(a)
    before = rss_kb(a.pid)
    sid = c.request("/echo", extra=[("x-bomb", "B" * 4000)])
    check(c.status(c.response(sid)) == 200, "the field itself is fine")
    # Written by hand (RFC 7541): the pseudo-fields as literals never indexed, one 4000-byte
    # field added to the dynamic table (it becomes index 62), then thousands of Indexed Header
    # Field references to it.
    def literal(name, value, prefix):
        out = bytes([prefix])
        for part in (name.encode(), value.encode()):
            out += hpack_int(len(part), 7) + part
        return out

    def hpack_int(n, bits):
        top = (1 << bits) - 1
        if n < top:
            return bytes([n])
        out, n = [top], n - top
        while n >= 128:
            out.append((n & 127) | 128)
            n >>= 7
        return bytes(out + [n])
    block = b"".join(literal(k, v, 0x10) for k, v in
                     ((":method", "GET"), (":scheme", "https"),
                      (":authority", "%s:%d" % (HOST, a.origin)), (":path", "/echo")))
    block += literal("x-bomb", "B" * 4000, 0x40)
    block += bytes([0x80 | 62]) * 3000  # 12 MB of header list from 7 kB on the wire
    c = Conn(a)  # a fresh connection: its dynamic table holds only what is written here
    sid = 1
    c.send_block(sid, block, True)
    st = c.response(sid)
    check(c.status(st) == 431, "HPACK bomb: %r" % st)
    grew = rss_kb(a.pid) - before
    check(grew < 8 * 1024, "proxy RSS grew by %d KiB" % grew)


def continuation_flood(a):
    c = Conn(a)
    hf = HeadersFrame(1)
    hf.data = c.enc.encode([(":method", "GET"), (":scheme", "https"),
                            (":authority", HOST), (":path", "/echo")])
    c.send(hf)  # no END_HEADERS
    for i in range(200):
        cf = ContinuationFrame(1)
        cf.data = b""
        try:
            c.send(cf)
        except OSError:
            break
    c.run_until(lambda: c.goaway is not None, 10)
    check(c.goaway is not None, "a CONTINUATION flood must end with GOAWAY")
    c.run_until(lambda: False, 3)
    check(c.closed, "and the connection closes")


def stream_ids(a):
    # An even (server-initiated) id from the client.
    c = Conn(a)
    c.request("/echo", sid=2)
    c.run_until(lambda: c.goaway is not None, 10)
    check(c.goaway is not None and c.goaway[1] == PROTOCOL_ERROR, "even id: %r" % (c.goaway,))
    # A stream id lower than one already used.
    c = Conn(a)
    sid = c.request("/echo", sid=5)
    c.response(sid)
    c.request("/echo", sid=3)
    c.run_until(lambda: c.goaway is not None, 10)
    check(c.goaway is not None and c.goaway[1] == PROTOCOL_ERROR, "lower id: %r" % (c.goaway,))
    # HEADERS again on a closed stream.
    c = Conn(a)
    sid = c.request("/echo", sid=1)
    c.response(sid)
    c.request("/echo", sid=1)
    c.run_until(lambda: c.goaway is not None or c.stream(1)["rst"] is not None, 10)
    check(c.goaway is not None, "a closed stream reused: %r" % (c.goaway,))


def upstream_errors(a):
    c = Conn(a)
    bad = c.request("/garbage")
    slow = c.request("/hang")
    good = c.request("/size/100")
    st = c.response(bad)
    check(c.status(st) == 502 and b"fcaudit:" in bytes(st["data"]), "garbage -> 502: %r" % st)
    check(c.status(c.response(good)) == 200, "the other streams go on")
    st = c.response(slow, 20)
    check(c.status(st) == 504, "a silent origin -> 504 (--upstream-timeout): %r" % st)
    st = c.response(c.request("/partial"))
    check(st["rst"] is not None and st["rst"] != 0, "a response cut short is reset: %r" % st)
    check(c.status(c.response(c.request("/size/10"))) == 200, "the connection lives on")


def websocket(a):
    """WebSocket stays on HTTP/1.1: extended CONNECT (RFC 8441) is not advertised and is
    refused as a stream error on h2, and a client that opens an http/1.1 connection for it, as
    browsers then do, upgrades through the proxy."""
    c = Conn(a)
    c.run_until(lambda: SettingsFrame.MAX_CONCURRENT_STREAMS in c.settings)
    check(not c.settings.get(SettingsFrame.ENABLE_CONNECT_PROTOCOL),
          "extended CONNECT must not be advertised: %r" % c.settings)
    sid = c.next_id
    c.next_id += 2
    c.send_block(sid, c.enc.encode([(":method", "CONNECT"), (":protocol", "websocket"),
                                    (":scheme", "https"),
                                    (":authority", "%s:%d" % (HOST, a.origin)),
                                    (":path", "/ws"), ("sec-websocket-version", "13")]), False)
    st = c.response(sid)
    check(st["rst"] is not None or (c.status(st) or 0) >= 400,
          "extended CONNECT must be refused: %r" % st)
    check(c.goaway is None and c.status(c.response(c.request("/echo"))) == 200,
          "the h2 connection goes on: %r" % (c.goaway,))
    raw, _ = tunnel(a)
    target = "%s:%d" % (HOST, a.origin)
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(raw, server_hostname=HOST)
    check(s.selected_alpn_protocol() == "http/1.1", "ALPN %r" % s.selected_alpn_protocol())
    s.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % target).encode())
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(4096)
        check(b, "closed during the upgrade: %r" % got)
        got += b
    check(got.startswith(b"HTTP/1.1 101 "), "upgrade answered %r" % got[:60])
    check(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in got, got)
    s.sendall(b"\x81\x05hello")
    got = got.split(b"\r\n\r\n", 1)[1]
    while len(got) < 7:
        b = s.recv(4096)
        check(b, "closed before the echo: %r" % got)
        got += b
    check(got == b"\x81\x05hello", "echo %r" % got)
    s.close()


def goaway_drain(a):
    c = Conn(a)
    slow = c.request("/delay/1500")
    c.run_until(lambda: False, 0.5)
    os.kill(a.pid, signal.SIGTERM)
    c.run_until(lambda: c.goaway is not None, 5)
    check(c.goaway is not None and c.goaway[1] == 0 and c.goaway[0] >= slow,
          "drain sends GOAWAY NO_ERROR covering the open stream: %r" % (c.goaway,))
    st = c.response(slow, 10)
    check(c.status(st) == 200, "the open stream still completes: %r" % st)
    c.run_until(lambda: False, 5)
    check(c.closed, "the connection closes once its streams are done")


SCENARIOS = {f.__name__: f for f in (basic, concurrent, flow_response, flow_response_bound,
                                      flow_request,
                                      flow_request_bounded, reset_one, rapid_reset, max_streams,
                                      refused_flood, header_list, hpack_bomb, continuation_flood, stream_ids,
                                      upstream_errors, websocket, goaway_drain)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--proxy", type=int, required=True)
    p.add_argument("--origin", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--admin", type=int, default=0)
    a = p.parse_args()
    try:
        SCENARIOS[a.scenario](a)
    except Fail as e:
        print("h2frames %s: FAILED: %s" % (a.scenario, e))
        return 1
    print("h2frames %s: ok" % a.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())

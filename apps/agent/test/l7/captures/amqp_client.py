#!/usr/bin/env python3
"""Minimal AMQP 0-9-1 client (stdlib sockets only) used to record amqp-rabbitmq.pcap:
login (PLAIN guest/guest), channel, queue.declare, basic.publish, basic.get, a passive declare
of a missing queue (server closes the channel with 404), connection.close."""
import socket, struct, sys

HOST, PORT = "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 5672
s = socket.create_connection((HOST, PORT))
buf = b""

def recv_frame():
    global buf
    while True:
        if len(buf) >= 7:
            t, ch, size = struct.unpack(">BHI", buf[:7])
            if len(buf) >= 8 + size:
                payload = buf[7:7 + size]
                buf = buf[8 + size:]
                return t, ch, payload
        d = s.recv(65536)
        if not d:
            raise SystemExit("connection closed")
        buf += d

def expect_method(cls, mth):
    while True:
        t, ch, p = recv_frame()
        if t == 1:
            c, m = struct.unpack(">HH", p[:4])
            if (c, m) == (cls, mth):
                return ch, p[4:]
            print("got", c, m)
            if (c, m) == (cls, mth):
                return ch, p[4:]
            return ch, None

def method(ch, cls, mth, args=b""):
    p = struct.pack(">HH", cls, mth) + args
    s.sendall(struct.pack(">BHI", 1, ch, len(p)) + p + b"\xce")

def shortstr(x):
    x = x.encode()
    return bytes([len(x)]) + x

def longstr(x):
    return struct.pack(">I", len(x)) + x

s.sendall(b"AMQP\x00\x00\x09\x01")
expect_method(10, 10)
method(0, 10, 11, longstr(b"") + shortstr("PLAIN") + longstr(b"\x00guest\x00guest") + shortstr("en_US"))
_, tune = expect_method(10, 30)
chmax, fmax, hb = struct.unpack(">HIH", tune[:8])
method(0, 10, 31, struct.pack(">HIH", chmax, fmax, 0))
method(0, 10, 40, shortstr("/") + shortstr("") + b"\x00")
expect_method(10, 41)
method(1, 20, 10, shortstr(""))
expect_method(20, 11)
q = "flowplane-rec.q"
method(1, 50, 10, struct.pack(">H", 0) + shortstr(q) + b"\x08" + longstr(b""))  # auto-delete
expect_method(50, 11)
body = b"hello from flowplane-rec"
method(1, 60, 40, struct.pack(">H", 0) + shortstr("") + shortstr(q) + b"\x00")
hdr = struct.pack(">HHQH", 60, 0, len(body), 0)
s.sendall(struct.pack(">BHI", 2, 1, len(hdr)) + hdr + b"\xce")
s.sendall(struct.pack(">BHI", 3, 1, len(body)) + body + b"\xce")
method(1, 60, 70, struct.pack(">H", 0) + shortstr(q) + b"\x01")  # no-ack
expect_method(60, 71)
recv_frame(); recv_frame()  # content header + body
method(1, 50, 10, struct.pack(">H", 0) + shortstr("flowplane-rec.missing") + b"\x01" + longstr(b""))  # passive
ch, _ = expect_method(20, 40)  # server closes the channel: 404
method(1, 20, 41)
method(0, 10, 50, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0))
expect_method(10, 51)
s.close()
print("ok")

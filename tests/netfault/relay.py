"""User-space WAN forwarder for the netfault lab (this kernel has no netem).

Run by netlab.Lab.relay() inside the WAN namespace:

    ip netns exec gomnf-...-wan python3 relay.py TUNNAME

It opens a TUN device (IFF_TUN | IFF_NO_PI) named TUNNAME. netlab then
routes everything that arrives on `wh` or `wa` into that device (policy
rules `iif wh` / `iif wa` -> a table whose default route is the TUN), so
every IPv4 packet between hub and agents is read here. Each packet is given
a direction from its destination address (10.77.2.0/24: to_agents,
10.77.1.0/24: to_hub), then, with that direction's settings:

    loss       dropped with this probability
    duplicate  a second copy is queued with this probability (its own delay)
    delay_ms   held this long ...
    jitter_ms  ... plus or minus a uniform random amount up to this
               (clipped at 0: jitter alone reorders, as netem's does)
    reorder    with this probability held reorder_ms longer, so packets
               sent after it overtake it

and written back into the TUN when its time comes; the kernel forwards it
out of `wa` or `wh` (through their qdiscs, so `tc tbf` shaping applies
after the delay, and through the FORWARD chain, so iptables loss and cuts
still apply).

Bounded: at most MAX_PKTS packets / MAX_BYTES bytes held (more are dropped
and counted as `overflow`); exits when its standard input closes (the test
process died) or on {"cmd": "quit"}; the TUN device vanishes with it.

Control: one JSON object per line on standard input, one JSON answer per
line on standard output:
    {"cmd": "set", "direction": "to_hub"|"to_agents"|"both", "delay_ms":..,
     "jitter_ms":.., "loss":.., "duplicate":.., "reorder":.., "reorder_ms":..,
     "seed": ..}                                  -> {"ok": true}
    {"cmd": "stats"}  -> {"ok": true, "to_hub": {...}, "to_agents": {...}}
    {"cmd": "quit"}   -> {"ok": true}, then exit
Counters per direction: pkts_in, bytes_in, pkts_out, bytes_out, lost,
duplicated, reordered, overflow, write_errors; and in total: held,
held_bytes (now), other (packets dropped as not between the lab's nets).

Python standard library only.
"""

import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454ca
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

MAX_PKTS = 20000
MAX_BYTES = 16 * 1024 * 1024
READ_BURST = 256            # packets read per wakeup at most

DIRS = ('to_hub', 'to_agents')
KNOBS = {'delay_ms': 0.0, 'jitter_ms': 0.0, 'loss': 0.0, 'duplicate': 0.0,
         'reorder': 0.0, 'reorder_ms': 50.0}
COUNTERS = ('pkts_in', 'bytes_in', 'pkts_out', 'bytes_out', 'lost',
            'duplicated', 'reordered', 'overflow', 'write_errors')


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    ifr = struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


def direction_of(pkt):
    """'to_hub', 'to_agents' or None (not IPv4 between the lab's nets)."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4:
        return None
    if pkt[16] == 10 and pkt[17] == 77:
        if pkt[18] == 1:
            return 'to_hub'
        if pkt[18] == 2:
            return 'to_agents'
    return None


class Relay(object):

    def __init__(self, fd):
        self.fd = fd
        self.cfg = {d: dict(KNOBS) for d in DIRS}
        self.cnt = {d: dict.fromkeys(COUNTERS, 0) for d in DIRS}
        self.heap = []          # (due, seq, direction, packet)
        self.seq = 0
        self.held_bytes = 0
        self.other = 0          # packets not between the two nets
        self.rng = random.Random()

    def hold(self, direction, pkt, now):
        c = self.cfg[direction]
        k = self.cnt[direction]
        if len(self.heap) >= MAX_PKTS or \
                self.held_bytes + len(pkt) > MAX_BYTES:
            k['overflow'] += 1
            return
        d = c['delay_ms']
        if c['jitter_ms'] > 0:
            d += self.rng.uniform(-c['jitter_ms'], c['jitter_ms'])
        if c['reorder'] > 0 and self.rng.random() < c['reorder']:
            d += c['reorder_ms']
            k['reordered'] += 1
        due = now + max(d, 0.0) / 1000.0
        self.seq += 1
        heapq.heappush(self.heap, (due, self.seq, direction, pkt))
        self.held_bytes += len(pkt)

    def arrive(self, pkt, now):
        direction = direction_of(pkt)
        if direction is None:
            # Not between the lab's two nets (IPv6 chatter, say): dropped.
            self.other += 1
            return
        c = self.cfg[direction]
        k = self.cnt[direction]
        k['pkts_in'] += 1
        k['bytes_in'] += len(pkt)
        if c['loss'] > 0 and self.rng.random() < c['loss']:
            k['lost'] += 1
            return
        self.hold(direction, pkt, now)
        if c['duplicate'] > 0 and self.rng.random() < c['duplicate']:
            k['duplicated'] += 1
            self.hold(direction, pkt, now)

    def release(self, now):
        while self.heap and self.heap[0][0] <= now:
            _, _, direction, pkt = heapq.heappop(self.heap)
            self.held_bytes -= len(pkt)
            k = self.cnt[direction]
            try:
                os.write(self.fd, pkt)
                k['pkts_out'] += 1
                k['bytes_out'] += len(pkt)
            except OSError:
                k['write_errors'] += 1

    def command(self, line):
        try:
            msg = json.loads(line)
            cmd = msg.get('cmd')
            if cmd == 'set':
                dirs = {'both': DIRS}.get(msg.get('direction', 'both'),
                                           (msg.get('direction'),))
                for d in dirs:
                    if d not in DIRS:
                        raise ValueError('bad direction %r' % (d,))
                    for k, v in msg.items():
                        if k in KNOBS:
                            v = float(v)
                            if v < 0 or (k in ('loss', 'duplicate',
                                               'reorder') and v > 1):
                                raise ValueError('%s=%r' % (k, v))
                            self.cfg[d][k] = v
                if 'seed' in msg:
                    self.rng.seed(msg['seed'])
                return {'ok': True, 'config': self.cfg}
            if cmd == 'stats':
                out = {'ok': True, 'held': len(self.heap),
                       'held_bytes': self.held_bytes, 'other': self.other}
                for d in DIRS:
                    out[d] = dict(self.cnt[d])
                return out
            if cmd == 'quit':
                return {'ok': True, 'quit': True}
            raise ValueError('unknown command %r' % (cmd,))
        except Exception as e:
            return {'ok': False, 'error': str(e)}

    def run(self):
        stdin = sys.stdin.buffer
        inbuf = b''
        p = select.poll()
        p.register(self.fd, select.POLLIN)
        p.register(stdin.fileno(), select.POLLIN)
        while True:
            now = time.monotonic()
            self.release(now)
            if self.heap:
                wait = max(0, int((self.heap[0][0] - now) * 1000 + 0.999))
            else:
                wait = 1000
            for fd, ev in p.poll(wait):
                if fd == self.fd:
                    now = time.monotonic()
                    for _ in range(READ_BURST):
                        try:
                            pkt = os.read(self.fd, 65536)
                        except BlockingIOError:
                            break
                        self.arrive(pkt, now)
                else:
                    data = os.read(fd, 65536)
                    if not data:
                        return 0            # the test went away
                    inbuf += data
                    while b'\n' in inbuf:
                        line, inbuf = inbuf.split(b'\n', 1)
                        if not line.strip():
                            continue
                        ans = self.command(line.decode('utf-8', 'replace'))
                        sys.stdout.write(json.dumps(ans) + '\n')
                        sys.stdout.flush()
                        if ans.get('quit'):
                            return 0


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: relay.py TUNNAME\n')
        return 2
    fd = open_tun(sys.argv[1])
    sys.stdout.write(json.dumps({'ok': True, 'ready': sys.argv[1],
                                 'pid': os.getpid()}) + '\n')
    sys.stdout.flush()
    return Relay(fd).run()


if __name__ == '__main__':
    sys.exit(main())

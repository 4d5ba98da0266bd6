"""Soak: a hub and a few agents under a random sequence of every fault.

    python3 tests/netfault/soak.py --minutes 60      # the real soak
    python3 tests/netfault/soak.py --minutes 2       # a quick try

(as root, with GOM_HUB / GOM_AGENT set as for the netfault tests; not run
by ctest.)

A netlab Lab (three namespaces), a hub and --agents agents, real
processes. For --minutes, episodes follow one another, each a fault
chosen at random (seeded: --seed) for a random few seconds:

    loss        iptables random loss, 5-30%, one way or both
    shape       tc tbf, 64-512 kbit/s both ways
    delay       relay: 100-800 ms one-way delay, jitter, 0-5% loss
    reorder     relay: 10-30% reordered (+20-80 ms), 2-10% duplicated
    partition   WAN links down
    blackhole   iptables DROP both ways
    flap        partition or black hole on a short up/down schedule
    kill_hub    kill -9 the hub; restarted after the episode
    kill_agent  kill -9 one agent; restarted after the episode

with a clean gap of 0-3 s between episodes. Throughout, every agent
submits a few reports (a Vietnamese narrative, ~1.5 KB each) about once a
second, whether it runs or not (the CLI writes its outbox). The soak
fails at once if a daemon dies unbidden (its log tail is printed).

At the end it heals everything (Lab.clear(); killed daemons restarted),
waits for the drain (every report acked) within --drain-timeout seconds,
checks the ground truth (gomtest's assert_hub_whole: every report stored
exactly once with its agent's receipt; no NACK; nothing rejected) and
prints a summary table: per fault kind the times applied and the seconds
in total; reports sent, stored, duplicates suppressed (the hub's status
counter), the drain time after the final heal, bytes per report (the WAN
links' tx counters over the whole soak). Exit status 0 only if the ground
truth holds.

Bounded: episodes stop at --minutes; the drain has its own deadline;
every daemon and namespace is removed at exit (also on Ctrl-C/SIGTERM).
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netlab  # noqa: E402  (puts ../integration on sys.path)
import gomtest  # noqa: E402

KINDS = ('loss', 'shape', 'delay', 'reorder', 'partition', 'blackhole',
         'flap', 'kill_hub', 'kill_agent')
HUB_SETTINGS = dict(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000)
AGENT_SETTINGS = dict(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000,
                      reconnect_ivl_ms=300, reconnect_ivl_max_ms=4000,
                      resend_min_ms=1000, resend_max_ms=15000,
                      spool_scan_ms=500)


class _Checks(gomtest.GomTestCase):
    """Only for its assertions (assert_hub_whole)."""

    def runTest(self):
        pass


class Soak(object):

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.tmp = tempfile.mkdtemp(prefix='gom-soak-')
        self.lab = netlab.Lab('soak')
        self.hub = None
        self.agents = []
        self.next_report = {}
        self.sent = 0
        self.applied = {k: 0 for k in KINDS}
        self.seconds = {k: 0.0 for k in KINDS}
        self.t0 = time.monotonic()
        self.down = set()       # daemons killed on purpose, not yet back

    def say(self, fmt, *a):
        sys.stderr.write('[soak %7.1fs] %s\n' % (time.monotonic() - self.t0,
                                                 fmt % a))
        sys.stderr.flush()

    # -------------------------------------------------------------- setup

    def setup(self):
        self.lab.create()
        hub = netlab.NsHub(self.lab)
        hub.name = 'hub'
        hub.init(os.path.join(self.tmp, 'hub'), netlab.HUB_PORT)
        for k, v in HUB_SETTINGS.items():
            hub.set(k, v)
        self.hub = hub
        for i in range(self.args.agents):
            a = netlab.NsAgent(self.lab)
            a.name = 'agent%d' % (i + 1)
            unit = 'K%02d' % (i + 1)
            a.unit = unit
            a.init(os.path.join(self.tmp, a.name), hub.endpoint, hub.key,
                   unit)
            for k, v in AGENT_SETTINGS.items():
                a.set(k, v)
            hub.enroll(a.key, unit)
            self.agents.append(a)
            self.next_report[a.name] = 0
        hub.start()
        hub.wait_listening()
        for a in self.agents:
            a.start()
        self.wire0 = self.lab.wire_bytes()

    def cleanup(self):
        for d in [self.hub] + self.agents:
            if d is not None:
                d.cleanup()
        self.lab.destroy()
        if self.args.keep:
            self.say('kept %s', self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ traffic

    def submit_round(self):
        """A few reports for every agent (running or not)."""
        fdir = os.path.join(self.tmp, 'files')
        for a in self.agents:
            files = []
            for _ in range(self.rng.randint(1, 3)):
                i = self.next_report[a.name]
                self.next_report[a.name] += 1
                period = 'S%06d' % i
                cells = {'C%03d' % c: (i * 37 + c * 11) % 500
                         for c in range(40)}
                texts = {'situation': netlab.NARRATIVE % (
                    a.unit, period, i % 9 + 1, 20 + i % 30)}
                files.append(gomtest.make_report(
                    a.unit, form='HT-VSTBPN-6T', period=period, cells=cells,
                    texts=texts, dir=fdir,
                    name='%s_%06d.json' % (a.unit, i)))
            a.submit_ok(*files)
            self.sent += len(files)
            for f in files:
                os.unlink(f)

    def check_alive(self):
        for d in [self.hub] + self.agents:
            if d not in self.down and not d.alive():
                raise RuntimeError('%s died unbidden (status %r)\n%s' % (
                    d.name, d.proc and d.proc.poll(),
                    gomtest.tail(d.log_path)))

    def hold(self, seconds, end):
        """Submits about once a second for `seconds` (not past `end`),
        checking the daemons."""
        stop = min(time.monotonic() + seconds, end)
        while True:
            self.check_alive()
            self.submit_round()
            left = stop - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(1.0, left))

    # ------------------------------------------------------------- faults

    def episode(self, kind, secs, end):
        lab, r = self.lab, self.rng
        what = kind
        if kind == 'loss':
            p = r.uniform(0.05, 0.30)
            d = r.choice(netlab.DIRECTIONS)
            lab.loss(p, d)
            what = 'loss %.2f %s' % (p, d)
        elif kind == 'shape':
            k = r.choice((64, 128, 256, 512))
            lab.shape(k, burst=16384, latency_ms=1000)
            what = 'shape %d kbit/s' % k
        elif kind == 'delay':
            for d in ('to_hub', 'to_agents'):
                ms = r.randint(100, 800)
                config = lab.relay(delay_ms=ms,
                                   jitter_ms=r.randint(0, ms // 10),
                                   loss=r.choice((0, 0.01, 0.05)),
                                   direction=d)
            what = 'delay %s' % {d: int(v['delay_ms']) for d, v in
                                 config.items()}
        elif kind == 'reorder':
            lab.relay(delay_ms=r.randint(5, 40), jitter_ms=5,
                      reorder=r.uniform(0.1, 0.3),
                      reorder_ms=r.randint(20, 80),
                      duplicate=r.uniform(0.02, 0.10), direction='both')
        elif kind == 'partition':
            lab.partition()
        elif kind == 'blackhole':
            lab.blackhole()
        elif kind == 'flap':
            up, down = r.uniform(1, 4), r.uniform(2, 6)
            how = r.choice(('partition', 'blackhole'))
            cycles = max(1, int(secs // (up + down)))
            lab.flap(up, down, cycles, how)
            what = 'flap %s %.1f/%.1f s x%d' % (how, up, down, cycles)
        elif kind == 'kill_hub':
            self.hub.kill9()
            self.down.add(self.hub)
        elif kind == 'kill_agent':
            a = r.choice(self.agents)
            a.kill9()
            self.down.add(a)
            what = 'kill_agent %s' % a.name
        self.say('episode %s for %.0f s (sent so far %d)', what, secs,
                 self.sent)
        t = time.monotonic()
        try:
            self.hold(secs, end)
            if kind == 'flap':
                # The schedule is bounded; let it finish (heals itself).
                while lab.flapping():
                    self.hold(1, time.monotonic() + 1)
                    if time.monotonic() > end + 60:
                        break
        finally:
            self.undo(kind)
        self.applied[kind] += 1
        self.seconds[kind] += time.monotonic() - t

    def undo(self, kind):
        lab = self.lab
        if kind in ('kill_hub', 'kill_agent'):
            for d in list(self.down):
                d.start()
                if d is self.hub:
                    d.wait_listening()
                self.down.discard(d)
        else:
            lab.clear()

    # --------------------------------------------------------------- main

    def run(self):
        end = self.t0 + self.args.minutes * 60
        self.setup()
        self.say('hub and %d agents up; faults until %.0f s',
                 len(self.agents), end - self.t0)
        kinds = list(KINDS)
        n = 0
        while time.monotonic() < end - 3:
            # Every kind once (shuffled) before any repeats, then at random.
            if n < len(kinds):
                if n == 0:
                    self.rng.shuffle(kinds)
                kind = kinds[n]
            else:
                kind = self.rng.choice(KINDS)
            n += 1
            secs = self.rng.uniform(4, 15)
            secs = min(secs, max(1.0, end - time.monotonic()))
            self.episode(kind, secs, end)
            gap = self.rng.uniform(0, 3)
            if time.monotonic() + gap < end:
                self.hold(gap, end)

        # Final heal, then the drain with a deadline.
        self.lab.clear()
        self.undo('kill_hub')
        self.check_alive()
        t_heal = time.monotonic()
        self.say('healed; %d reports sent; waiting for the drain (%d s at '
                 'most)', self.sent, self.args.drain_timeout)
        gomtest.wait_for(
            lambda: gomtest.acked_count(self.agents) == self.sent,
            self.args.drain_timeout, 'all %d reports acked' % self.sent,
            logs=[self.hub] + self.agents)
        drain = time.monotonic() - t_heal
        self.check_alive()
        wire = self.lab.wire_total(self.wire0, self.lab.wire_bytes())

        # The ground truth.
        checks = _Checks()
        rows = checks.assert_hub_whole(self.hub, self.agents, self.sent)
        st = self.hub.status()
        assert st['nacks'] == 0, st
        for a in self.agents:
            s = a.status()
            assert s['rejected'] == 0, (a.name, s)
            assert s['queued'] == 0 and s['sent'] == 0, (a.name, s)
        self.summary(len(rows), st['duplicates'], drain, wire)
        sys.stderr.write(
            'scenario soak reports_sent=%d stored=%d duplicates_suppressed='
            '%d drain_s=%.1f bytes_per_report=%.0f\n'
            % (self.sent, len(rows), st['duplicates'], drain,
               wire / max(self.sent, 1)))
        return 0

    def summary(self, stored, dups, drain, wire):
        out = sys.stdout
        out.write('\nsoak: %.1f min, seed %s, %d agents\n\n'
                  % ((time.monotonic() - self.t0) / 60, self.args.seed,
                     len(self.agents)))
        out.write('| fault | times applied | seconds in total |\n'
                  '|---|---:|---:|\n')
        for k in KINDS:
            out.write('| %s | %d | %.0f |\n' % (k, self.applied[k],
                                               self.seconds[k]))
        out.write('\n| reports sent | stored | duplicates suppressed | '
                  'drain after final heal (s) | bytes per report |\n'
                  '|---:|---:|---:|---:|---:|\n')
        out.write('| %d | %d | %d | %.1f | %.0f |\n\n'
                  % (self.sent, stored, dups, drain,
                     wire / max(self.sent, 1)))
        out.write('ground truth: every report stored exactly once, every '
                  'queue empty, no NACK, nothing rejected: OK\n')
        out.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--minutes', type=float, default=60)
    ap.add_argument('--agents', type=int, default=3)
    ap.add_argument('--seed', type=int, default=None,
                    help='random seed (default: from the clock, printed)')
    ap.add_argument('--drain-timeout', type=int, default=300)
    ap.add_argument('--keep', action='store_true',
                    help='keep the folder (configs, databases, logs)')
    args = ap.parse_args()
    if args.seed is None:
        args.seed = int(time.time()) % 100000
    why = netlab.have_tools()
    if why:
        sys.stderr.write('soak cannot run here: %s\n' % why)
        return 2
    for b in (gomtest.HUB_BIN, gomtest.AGENT_BIN):
        if not os.access(b, os.X_OK):
            sys.stderr.write('binary %s missing: set GOM_HUB / GOM_AGENT\n'
                             % b)
            return 2
    soak = Soak(args)
    try:
        return soak.run()
    except (AssertionError, RuntimeError) as e:
        sys.stderr.write('\nSOAK FAILED (seed %s): %s\n' % (args.seed, e))
        args.keep = True
        return 1
    finally:
        soak.cleanup()


if __name__ == '__main__':
    sys.exit(main())

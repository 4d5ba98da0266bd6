#!/usr/bin/env python3
"""Poor link: drain time of a queued backlog over rural 3G, gom vs MQTT.

Issue 8, point 4. For each profile, both on the netfault lab's line
(tests/netfault/netlab.py: namespaces hub / wan / agents, the user-space
relay for delay, jitter and loss, tc tbf for the rate):

    loss10  300 ms (+- 30 ms jitter) each way, 10% loss each way, 256 kbit/s
            each way (the rural 3G profile of tests/netfault/test_rural3g.py)
    loss0   the same without loss

it runs, each in a fresh lab (fresh namespaces: no TCP metrics cached from
an earlier run):

  gom   a gom-hub in the hub namespace (seed forms and the sample unit tree
        installed, max_reports_per_minute = 0) and one real gom-agent in the
        agents namespace with the agent's production settings (window 64,
        resend floor 2 s, ...) and the seed forms already cached (as on an
        office PC that has been running: no form offer on the line). N
        reports of the seed-000 form (DB-LDLD-BDG-2016-2020, made with
        `gom_load json`) are submitted (`gom-agent submit`, 250 files a
        call) before the agent starts. Drain: from the agent's start to the
        last report acknowledged (the largest `acked_ms` of `gom-agent list
        --json`, once `status --json` counts all N acked).
  mqtt  mosquitto (persistence on, QoS 1 store session as in
        bench_brokers.sh) listening on the hub namespace's address, and
        bench_brokers' mosquitto publisher in the agents namespace: 1
        publisher, window 64, N messages of the same payload (a packed
        seed-000 report, 1,143 bytes). The store session is made by a
        1-message run first (not timed); the timed run uses --mqtt-store off
        (the session's subscription stays, so the broker still keeps every
        message). Drain: the publisher process's wall time, start to exit
        (its TCP connect and MQTT CONNECT included, as gom's includes its
        CURVE handshake and hello).

Bytes: the WAN's tx counters (Lab.wire_bytes(): out of `wh` towards the hub,
out of `wa` towards the agents: Ethernet, IP and TCP headers, handshakes,
acks, heartbeats and retransmissions all included) over the timed part.

The ideal time of each system is the bytes ITS no-loss run sent towards the
hub x 8 / 256,000 bit/s: the link is full duplex and the reports go one
way, so the direction towards the hub is the bottleneck (the answers the
other way are small and do not compete); and the no-loss run's bytes are
what this system must move when nothing is lost (headers, handshake and
protocol overhead included, no retransmission), so the loss run is judged
against the same ideal, and its retransmitted bytes count as time lost.
ratio = drain / ideal. (The relay drops packets before the tbf, so a lost
packet costs no bottleneck time: the ratio shows how well the sender keeps
the line busy through its losses.) A gom agent that resends reports on the
no-loss run inflates its own ideal: for gom the script also prints
poorlink_gom_ideal_once and ..._ratio_once, the ideal with each report
counted once (bytes x N / (N + reports resent)).

    python3 tests/bench/bench_poorlink.py [--quick] [--reports N]
        [--profiles loss10,loss0] [--systems gom,mqtt] [--jitter-ms 30]
        [--agent-set KEY=VALUE]... [--seed S] [--keep]

--quick: N = 200, and --parallel: the four runs at once, each on its own
line (its own namespaces, relay and tbf; the line, not the CPU, is the
limit), about 25 s in all; default N = 2000 (the issue's figure), one run
after the other. Needs root, iproute2, iptables, mosquitto; binaries from $GOM_HUB,
$GOM_AGENT, $GOM_LOAD, $BENCH_BROKERS (default: build-pl/...).

Prints `figure NAME VALUE UNIT` lines on standard output (it reports, it
does not judge); progress, TCP counters (nstat) and `ss -ti` summaries of
the sender's socket on standard error. Exit status 0 unless a run could not
complete (deadline passed, a daemon died, a setup step failed).
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD = os.path.join(ROOT, 'build-pl')
# gomtest reads GOM_HUB / GOM_AGENT when imported: defaults first.
os.environ.setdefault('GOM_HUB', os.path.join(BUILD, 'hub', 'gom-hub'))
os.environ.setdefault('GOM_AGENT', os.path.join(BUILD, 'agent', 'gom-agent'))
GOM_LOAD = os.environ.get('GOM_LOAD', os.path.join(BUILD, 'tests', 'gom_load'))
BENCH_BROKERS = os.environ.get('BENCH_BROKERS',
                               os.path.join(BUILD, 'tests', 'bench_brokers'))

sys.path.insert(0, os.path.join(HERE, '..', 'netfault'))
import netlab  # noqa: E402
import gomtest  # noqa: E402  (netlab put its folder on sys.path)

FORM = os.path.join(ROOT, 'deploy', 'forms', 'DB-LDLD-BDG-2016-2020.json')
UNIT = '18073'          # a commune of the sample tree (Phường Bắc Hà)
RATE_KBIT = 256
RATE_BPS = RATE_KBIT * 1000
DELAY_MS = 300
BURST = 16384           # tbf burst, bytes (as test_rural3g)
MQTT_PORT = 1883
PROFILES = {'loss10': 0.10, 'loss0': 0.0}
SUBMIT_CHUNK = 250
POLL_S = 0.5
SS_EVERY_S = 2.0

T_START = time.monotonic()


def say(fmt, *args):
    sys.stderr.write('[poorlink %6.1fs] %s\n'
                     % (time.monotonic() - T_START, fmt % args))
    sys.stderr.flush()


def figure(name, value, unit, fmt='%.2f'):
    print(('figure %s ' + fmt + ' %s') % (name, value, unit), flush=True)


class RunFailed(Exception):
    pass


# ------------------------------------------------------------ observation

SS_FIELDS = re.compile(r'\b(cwnd|ssthresh|rto|unacked|lost|notsent|'
                       r'bytes_acked|bytes_retrans|retrans|rtt|'
                       r'delivery_rate)[: ]([^ ]+)')


class SsSampler(object):
    """Every SS_EVERY_S, `ss -tin` in the sender's namespace for the one
    connection to the hub's address: cwnd, rtt, rto, retransmissions,
    unacked and not-sent bytes. Bounded: stops with stop() (joined with a
    timeout), each ss call has netlab's command timeout."""

    def __init__(self, lab, ns, port):
        self.lab, self.ns, self.port = lab, ns, port
        self.samples = []
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._body, daemon=True,
                                       name='poorlink-ss')

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(netlab.CMD_TIMEOUT + 5)

    def _body(self):
        while not self.stop_ev.wait(SS_EVERY_S):
            try:
                cp = self.lab.ns(self.ns, 'ss', '-tinH', 'state',
                                 'established', 'dst', netlab.HUB_ADDR,
                                 'dport', '=', ':%d' % self.port,
                                 check=False)
            except Exception:
                continue
            text = ' '.join(cp.stdout.split())
            if not text:
                continue
            d = {'t': time.monotonic()}
            for k, v in SS_FIELDS.findall(text):
                d[k] = v
            self.samples.append(d)

    def summary(self):
        """A one-line summary for the log."""
        s = self.samples
        if not s:
            return 'no ss samples'

        def nums(key, part=0):
            out = []
            for d in s:
                if key in d:
                    try:
                        out.append(float(d[key].split('/')[part]
                                         .rstrip('bpsKM')))
                    except ValueError:
                        pass
            return out

        def med(v):
            return statistics.median(v) if v else float('nan')
        cwnd, rtt, rto = nums('cwnd'), nums('rtt'), nums('rto')
        notsent, unacked = nums('notsent'), nums('unacked')
        retr = nums('retrans', 1)
        return ('ss: %d samples; cwnd median %.0f (min %.0f, max %.0f); srtt '
                'median %.0f ms (max %.0f); rto median %.0f ms (max %.0f); '
                'unacked median %.0f segs; notsent median %.0f B (max %.0f) '
                'in %d samples; retransmitted segments %d'
                % (len(s), med(cwnd), min(cwnd or [0]), max(cwnd or [0]),
                   med(rtt), max(rtt or [0]), med(rto), max(rto or [0]),
                   med(unacked), med(notsent), max(notsent or [0]),
                   len(notsent), max(retr or [0])))


NSTAT_KEYS = ('TcpOutSegs', 'TcpRetransSegs', 'TcpExtTCPTimeouts',
              'TcpExtTCPLossProbes', 'TcpExtTCPSackRecovery',
              'TcpExtTCPFastRetrans', 'TcpExtTCPSlowStartRetrans',
              'TcpExtTCPSpuriousRTOs', 'TcpExtTCPDSACKRecv',
              'TcpExtTCPOFOQueue')


def nstat(lab, ns):
    cp = lab.ns(ns, 'nstat', '-asz', '--json', check=False)
    try:
        d = json.loads(cp.stdout)
        d = d.get('kernel', d)
    except ValueError:
        d = {}
    return {k: int(d.get(k, 0)) for k in NSTAT_KEYS}


def nstat_line(c):
    short = {k: v for k, v in c.items()}
    return ' '.join('%s=%d' % (k.replace('TcpExtTCP', '').replace('Tcp', ''),
                               v) for k, v in short.items())


# ------------------------------------------------------------------- lab

def new_lab(tag, loss, jitter_ms, seed):
    lab = netlab.Lab(tag)
    lab.create()
    lab.relay(delay_ms=DELAY_MS, jitter_ms=jitter_ms, loss=loss,
              direction='both', seed=seed)
    lab.shape(RATE_KBIT, burst=BURST)
    return lab


def delta(a, b):
    return {d: b[d]['bytes'] - a[d]['bytes'] for d in ('to_hub', 'to_agents')}


def log_relay(lab):
    try:
        st = lab.relay_stats()
    except Exception as e:
        say('relay stats: %r', e)
        return
    for d in ('to_hub', 'to_agents'):
        k = st[d]
        say('relay %-9s in %d pkts, lost %d (%.1f%%), overflow %d', d,
            k['pkts_in'], k['lost'], 100.0 * k['lost'] / max(k['pkts_in'], 1),
            k['overflow'])


def tc_drops(lab):
    """Packets the tbf qdiscs dropped (queue beyond their latency)."""
    out = {}
    for dev, d in (('wh', 'to_hub'), ('wa', 'to_agents')):
        cp = lab.ns(lab.wan_ns, 'tc', '-s', 'qdisc', 'show', 'dev', dev,
                    check=False)
        m = re.search(r'dropped (\d+)', cp.stdout)
        out[d] = int(m.group(1)) if m else -1
    return out


# ------------------------------------------------------------------- gom

def log_line(system, profile, lab, sampler):
    """What the line and the sender's socket did in a run, on stderr."""
    say('%s %s: %s', system, profile, sampler.summary())
    say('%s %s: agents ns TCP: %s', system, profile,
        nstat_line(nstat(lab, lab.agents_ns)))
    say('%s %s: hub ns TCP: %s', system, profile,
        nstat_line(nstat(lab, lab.hub_ns)))
    say('%s %s: tbf drops %s', system, profile, tc_drops(lab))
    log_relay(lab)


def forms_cache(agent_dir):
    """The seed forms in the agent's cache, as the hub would have sent them
    (CODE.vVERSION.json): no form offer crosses the line during the run."""
    d = os.path.join(agent_dir, 'forms')
    os.makedirs(d, exist_ok=True)
    for f in gomtest.SEED_FORMS:
        with open(f, encoding='utf-8') as fh:
            doc = json.load(fh)
        shutil.copy(f, os.path.join(d, '%s.v%d.json' % (doc['form'],
                                                         doc['version'])))


def run_gom(args, profile, files, work, deadline_s):
    loss = PROFILES[profile]
    lab = new_lab('plg' + profile[4:], loss, args.jitter_ms, args.seed)
    hub = netlab.NsHub(lab)
    agent = netlab.NsAgent(lab)
    sampler = None
    try:
        hub.name, agent.name = 'hub', 'agent'
        hub.init(os.path.join(work, 'hub'), netlab.HUB_PORT)
        hub.install_pack()
        # The hub's default limit (600 reports a minute per key, then
        # transient "rate" NACKs) would be reached by a backlog on this
        # line: off, so that the line is what is measured.
        hub.set('max_reports_per_minute', '0')
        hub.start()
        hub.wait_listening()
        agent.init(os.path.join(work, 'agent'), hub.endpoint, hub.key, UNIT,
                   fast=False)    # the agent's production settings
        for kv in args.agent_set:
            k, v = kv.split('=', 1)
            agent.set(k, int(v) if v.isdigit() else v)
        forms_cache(agent.dir)
        hub.enroll(agent.key, UNIT)
        t = time.monotonic()
        for k in range(0, len(files), SUBMIT_CHUNK):
            agent.submit_ok(*files[k:k + SUBMIT_CHUNK])
        n = len(files)
        st = agent.status()
        if st.get('queued', 0) != n:
            raise RunFailed('gom %s: %r queued after submit, want %d'
                            % (profile, st.get('queued'), n))
        say('gom %s: %d reports queued in %.1f s; starting the agent',
            profile, n, time.monotonic() - t)
        wire0 = lab.wire_bytes()
        t0_wall = time.time()
        t0 = time.monotonic()
        agent.start()
        sampler = SsSampler(lab, lab.agents_ns, netlab.HUB_PORT).start()
        last_log = t0
        acked = 0
        while True:
            now = time.monotonic()
            if now - t0 > deadline_s:
                raise RunFailed('gom %s: only %d of %d acked after %.0f s'
                                % (profile, acked, n, deadline_s))
            hub.assert_alive()
            agent.assert_alive()
            try:
                acked = agent.status()['acked']
            except AssertionError:
                pass
            if acked >= n:
                break
            if now - last_log >= 10:
                last_log = now
                say('gom %s: %d/%d acked at %.0f s', profile, acked, n,
                    now - t0)
            time.sleep(POLL_S)
        wire1 = lab.wire_bytes()
        sampler.stop()
        rows = agent.list()
        acked_ms = [r['acked_ms'] for r in rows if r['state'] == 'acked']
        if len(acked_ms) != n:
            raise RunFailed('gom %s: list has %d acked rows, want %d'
                            % (profile, len(acked_ms), n))
        drain = max(acked_ms) / 1000.0 - t0_wall
        resent = sum(max(r['attempts'] - 1, 0) for r in rows)
        hst = hub.status()
        stored = len(hub.reports())
        if stored != n:
            raise RunFailed('gom %s: the hub stored %d, want %d'
                            % (profile, stored, n))
        out = dict(drain=drain, bytes=delta(wire0, wire1), resent=resent,
                   duplicates=hst.get('duplicates', 0),
                   nacks=hst.get('nacks', 0))
        say('gom %s: drain %.1f s; bytes to hub %d, to agents %d; agent '
            'resends %d, hub duplicates %d, nacks %d', profile, drain,
            out['bytes']['to_hub'], out['bytes']['to_agents'], resent,
            out['duplicates'], out['nacks'])
        log_line('gom', profile, lab, sampler)
        return out
    finally:
        if sampler:
            sampler.stop()
        for d in (agent, hub):
            d.cleanup()
        lab.destroy()


# ------------------------------------------------------------------ mqtt

def run_mqtt(args, profile, n, work, deadline_s):
    loss = PROFILES[profile]
    lab = new_lab('plm' + profile[4:], loss, args.jitter_ms, args.seed)
    broker = None
    broker_log = None
    sampler = None
    try:
        d = os.path.join(work, 'mosquitto')
        os.makedirs(d)
        conf = os.path.join(d, 'mosquitto.conf')
        with open(conf, 'w') as f:
            f.write('listener %d %s\nallow_anonymous true\npersistence true\n'
                    'persistence_location %s/\n'
                    '# keep every message queued for the offline store '
                    'session (default 1000)\nmax_queued_messages 0\n'
                    'user root\n' % (MQTT_PORT, netlab.HUB_ADDR, d))
        broker_log = open(os.path.join(d, 'server.log'), 'ab')
        broker = subprocess.Popen(
            lab.prefix(lab.hub_ns) + ['mosquitto', '-c', conf],
            stdin=subprocess.DEVNULL, stdout=broker_log, stderr=broker_log)
        gomtest._LIVE.add(broker)

        def listening():
            if broker.poll() is not None:
                raise RunFailed('mosquitto exited (%s): %s'
                                % (broker.returncode,
                                   gomtest.tail(broker_log.name)))
            cp = lab.ns(lab.hub_ns, 'ss', '-ltnH', 'sport', '=',
                        ':%d' % MQTT_PORT, check=False)
            return bool(cp.stdout.strip())
        gomtest.wait_for(listening, 20, 'mosquitto listening')

        def publisher(name, messages, window, store, timeout_s):
            argv = lab.prefix(lab.agents_ns) + [
                BENCH_BROKERS, 'mosquitto', '--host', netlab.HUB_ADDR,
                '--port', str(MQTT_PORT), '--publishers', '1',
                '--messages', str(messages), '--window', str(window),
                '--mqtt-store', store, '--name', name,
                '--timeout', str(int(timeout_s))]
            t0 = time.monotonic()
            try:
                cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, encoding='utf-8',
                                    errors='replace',
                                    timeout=timeout_s + 90)
            except subprocess.TimeoutExpired:
                raise RunFailed('mqtt %s: bench_brokers did not end within '
                                '%.0f s' % (profile, timeout_s + 90))
            wall = time.monotonic() - t0
            if cp.returncode != 0:
                raise RunFailed('mqtt %s: bench_brokers %s exited %d\n%s\n%s'
                                % (profile, name, cp.returncode, cp.stdout,
                                   cp.stderr))
            return wall, cp.stdout

        # The store session (persistent, subscribed at QoS 1), with one
        # message: not timed, not counted.
        publisher('poorlink_setup', 1, 1, 'on', 120)
        say('mqtt %s: store session made; publishing %d', profile, n)
        wire0 = lab.wire_bytes()
        sampler = SsSampler(lab, lab.agents_ns, MQTT_PORT).start()
        wall, out = publisher('poorlink_mqtt_%s' % profile, n, 64, 'off',
                              deadline_s)
        wire1 = lab.wire_bytes()
        sampler.stop()
        m = re.search(r'^result .* acked=(\d+) .* seconds=([0-9.]+)', out,
                      re.M)
        if not m or int(m.group(1)) != n:
            raise RunFailed('mqtt %s: not all acked: %s' % (profile, out))
        inner = float(m.group(2))
        res = dict(drain=wall, bytes=delta(wire0, wire1), inner=inner)
        say('mqtt %s: drain %.1f s (process start to exit; connected to '
            'last PUBACK %.1f s); bytes to hub %d, to agents %d', profile,
            wall, inner, res['bytes']['to_hub'], res['bytes']['to_agents'])
        log_line('mqtt', profile, lab, sampler)
        return res
    finally:
        if sampler:
            sampler.stop()
        if broker is not None:
            try:
                if broker.poll() is None:
                    broker.send_signal(signal.SIGTERM)
                    try:
                        broker.wait(5)
                    except subprocess.TimeoutExpired:
                        broker.kill()
                        broker.wait(5)
            except Exception:
                pass
            gomtest._LIVE.discard(broker)
        if broker_log:
            broker_log.close()
        lab.destroy()


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true',
                    help='N = 200 (about two minutes in all)')
    ap.add_argument('--reports', type=int, default=None,
                    help='N, reports (messages) per run (default 2000)')
    ap.add_argument('--profiles', default='loss10,loss0',
                    help='comma-separated: loss10, loss0 (the no-loss run '
                         'gives the ideal; a ratio needs it)')
    ap.add_argument('--systems', default='gom,mqtt')
    ap.add_argument('--jitter-ms', type=int, default=30,
                    help='one-way jitter, +- ms (test_rural3g: 30)')
    ap.add_argument('--seed', type=int, default=1, help="the relay's seed")
    ap.add_argument('--agent-set', action='append', default=[],
                    metavar='KEY=VALUE',
                    help="an agent.cfg setting for the gom runs (e.g. "
                         "window=24); default: the agent's own defaults")
    ap.add_argument('--keep', action='store_true',
                    help='keep the work folder (configs, logs, databases)')
    ap.add_argument('--parallel', action='store_true',
                    help='every run at once, each on its own line (lab): '
                         'the emulated line is the limit, not the CPU '
                         '(default with --quick)')
    args = ap.parse_args()
    if args.quick:
        args.parallel = True
    n = args.reports or (200 if args.quick else 2000)
    profiles = [p for p in args.profiles.split(',') if p]
    systems = [s for s in args.systems.split(',') if s]
    for p in profiles:
        if p not in PROFILES:
            ap.error('unknown profile %s' % p)
    for s in systems:
        if s not in ('gom', 'mqtt'):
            ap.error('unknown system %s' % s)
    # The no-loss run first: its bytes are the ideal the loss run is
    # judged against.
    profiles.sort(key=lambda p: PROFILES[p])

    why = netlab.have_tools()
    if why:
        sys.exit('bench_poorlink: cannot run: ' + why)
    need = [gomtest.HUB_BIN, gomtest.AGENT_BIN, GOM_LOAD, BENCH_BROKERS]
    if 'mqtt' not in systems:
        need.remove(BENCH_BROKERS)
    for b in need:
        if not os.access(b, os.X_OK):
            sys.exit('bench_poorlink: %s missing: cmake -S . -B build-pl '
                     '-DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build '
                     'build-pl -j2 (or set GOM_HUB, GOM_AGENT, GOM_LOAD, '
                     'BENCH_BROKERS)' % b)
    if 'mqtt' in systems and not shutil.which('mosquitto'):
        sys.exit('bench_poorlink: mosquitto missing (deploy/install-deps.sh '
                 '--bench)')
    signal.signal(signal.SIGTERM, netlab._sigterm)

    work = tempfile.mkdtemp(prefix='gom-poorlink-')
    with open('/proc/sys/net/ipv4/tcp_congestion_control') as f:
        host_cc = f.read().strip()
    say('N = %d; profiles %s; systems %s; jitter +-%d ms; TCP congestion '
        'control %s; agent settings %s; %d cores, load average %s; work '
        'folder %s', n, ','.join(profiles), ','.join(systems),
        args.jitter_ms, host_cc + ' (new namespaces inherit the host\'s)',
        ' '.join(args.agent_set) or 'defaults', os.cpu_count(),
        ' '.join(open('/proc/loadavg').read().split()[:3]), work)
    # A run may take up to 60 s + 0.5 s a report (the ideal is ~0.04 s a
    # report; 10x that would still finish).
    deadline_s = 60 + 0.5 * n
    failed = []
    results = {}
    try:
        files = []
        if 'gom' in systems:
            rdir = os.path.join(work, 'reports')
            os.makedirs(rdir)
            cp = gomtest.run_cli([GOM_LOAD, 'json', '--form', FORM, '--unit',
                                  UNIT, '--reports', str(n), rdir],
                                 what='gom_load json')
            files = cp.stdout.split()
            assert len(files) == n, (len(files), n)
        runs = [(p, s) for p in profiles for s in systems]

        def one(p, s):
            sub = os.path.join(work, '%s-%s' % (s, p))
            os.makedirs(sub)
            say('---- %s, %s: %d reports ----', s, p, n)
            try:
                if s == 'gom':
                    results[(s, p)] = run_gom(args, p, files, sub, deadline_s)
                else:
                    results[(s, p)] = run_mqtt(args, p, n, sub, deadline_s)
            except (RunFailed, AssertionError, RuntimeError) as e:
                say('%s %s FAILED: %s', s, p, e)
                failed.append('%s_%s' % (s, p))
        if args.parallel:
            # Each run has its own namespaces, relay and tbf: the runs
            # share only the CPU, which a 256 kbit/s line barely uses.
            threads = [threading.Thread(target=one, args=r) for r in runs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for r in runs:
                one(*r)
        for p, s in runs:
            if (s, p) in results:
                report(s, p, n, results[(s, p)], results)
        for p in profiles:
            if p == 'loss0':
                continue
            g, m = results.get(('gom', p)), results.get(('mqtt', p))
            if g and m:
                figure('poorlink_gom_vs_mqtt_%s' % p, g['drain'] / m['drain'],
                       'ratio', '%.3f')
    finally:
        if args.keep or failed:
            say('work folder kept: %s', work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    say('done%s; load average %s', ', FAILED: ' + ' '.join(failed)
        if failed else '', ' '.join(open('/proc/loadavg').read().split()[:3]))
    return 1 if failed else 0


def report(s, p, n, r, results):
    """Figures of one run; the ratio once the no-loss run of the same
    system has given the ideal."""
    figure('poorlink_%s_%s_drain' % (s, p), r['drain'], 's', '%.1f')
    base = results.get((s, 'loss0'))
    if base:
        ideal = base['bytes']['to_hub'] * 8.0 / RATE_BPS
        if p == 'loss0':
            figure('poorlink_%s_ideal' % s, ideal, 's', '%.1f')
        figure('poorlink_%s_%s_ratio' % (s, p), r['drain'] / ideal, 'ratio',
               '%.3f')
        if s == 'gom' and base['resent']:
            # The no-loss run's own resends (reports sent again on the same
            # connection while their first copy was still queued) inflate
            # that ideal; this one counts each report once.
            clean = ideal * n / float(n + base['resent'])
            if p == 'loss0':
                figure('poorlink_gom_ideal_once', clean, 's', '%.1f')
            figure('poorlink_gom_%s_ratio_once' % p, r['drain'] / clean,
                   'ratio', '%.3f')
    figure('poorlink_%s_%s_bytes_per_report' % (s, p),
           (r['bytes']['to_hub'] + r['bytes']['to_agents']) / float(n),
           'bytes', '%.0f')
    figure('poorlink_%s_%s_bytes_to_hub_per_report' % (s, p),
           r['bytes']['to_hub'] / float(n), 'bytes', '%.0f')
    if s == 'gom':
        figure('poorlink_gom_%s_resends' % p, r['resent'], 'reports', '%d')


if __name__ == '__main__':
    sys.exit(main())

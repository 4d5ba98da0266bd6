"""Network-fault lab for gom's tests: network namespaces, veth, tc, iptables.

Topology (one Lab per test; every name carries the test process's pid, so
parallel runs never collide, and a run killed with SIGKILL is swept by the
next one):

    ns HUB (gomnf-<pid>-<tag>-hub)          ns AGENTS (gomnf-<pid>-<tag>-agt)
      h0 10.77.1.1/24                          a0 10.77.2.1/24
        |                                        |
      wh 10.77.1.254/24 --- ns WAN --- wa 10.77.2.254/24
                     (gomnf-<pid>-<tag>-wan, ip_forward=1)

Everything between hub and agents crosses the WAN namespace, so faults are
applied there, per direction:
  - to the agents  (hub -> agents): egress of `wa`, FORWARD -i wh -o wa
  - to the hub     (agents -> hub): egress of `wh`, FORWARD -i wa -o wh

Profiles (all undone by Lab.clear(); partition/blackhole by Lab.heal()):
  shape(rate_kbit, burst)     tc tbf on both directions (or one)
  loss(p, direction)          iptables -m statistic --mode random DROP
  partition()                 the WAN's two links set down (cable cut)
  blackhole()                 iptables DROP both ways: no RST, no ICMP
  heal()                      undoes partition and blackhole
  flap(up_s, down_s, cycles)  background thread: partition/heal on a
                              schedule, bounded in cycles and time

  relay(delay_ms, jitter_ms, loss, reorder, duplicate, direction)
                              user-space forwarder (relay.py, a TUN device
                              in the WAN namespace) on the path: one-way
                              delay, jitter, loss, reordering, duplication
                              per direction (this kernel has no netem)
  wire_bytes()                bytes/packets sent out of `wa` and `wh` (what
                              crossed the WAN, per direction)

With the relay on, packets go wh -> relay (TUN) -> wa and back: the
kernel forwards them twice, so the iptables rules match on the outgoing
link only (-o wa: to the agents, -o wh: to the hub), once per packet, and
tc on wa/wh shapes what leaves the relay.

The gom daemons run inside the namespaces: NsHub / NsAgent are gomtest's
Hub / Agent whose `run` command line is prefixed with `ip netns exec NS`
(`ip netns exec` execs the program itself, so the pid gomtest holds is the
daemon's and its signals reach it). The CLI commands (submit, status,
reports...) only open the sqlite files and run in the root namespace.

Needs root, iproute2 (ip, tc) and iptables (`apt-get install iptables`).
Standard library only besides those.
"""

import atexit
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import gomtest  # noqa: E402

HUB_ADDR = '10.77.1.1'
HUB_GW = '10.77.1.254'
AGENTS_ADDR = '10.77.2.1'
AGENTS_GW = '10.77.2.254'
HUB_PORT = 7770

CMD_TIMEOUT = 20            # seconds any one ip/tc/iptables command may take
NS_RE = re.compile(r'^gomnf-(\d+)-[0-9a-z]+-(hub|agt|wan)$')

DIRECTIONS = ('both', 'to_agents', 'to_hub')


def _run(argv, check=True):
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=CMD_TIMEOUT, encoding='utf-8',
                            errors='replace')
    except subprocess.TimeoutExpired:
        raise RuntimeError('%s: no answer within %d s'
                           % (' '.join(argv), CMD_TIMEOUT))
    if check and cp.returncode != 0:
        raise RuntimeError('%s: status %d: %s'
                           % (' '.join(argv), cp.returncode,
                              (cp.stderr or cp.stdout).strip()))
    return cp


def have_tools():
    """None when the lab can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return 'needs root (network namespaces)'
    for tool in ('ip', 'tc', 'iptables'):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get('PATH', '/usr/sbin:/sbin')
                   .split(':') + ['/usr/sbin', '/sbin']):
            return '%s not installed (apt-get install iproute2 iptables)' \
                % tool
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale():
    """Deletes gomnf-* namespaces left by test processes that no longer
    exist (a run killed with SIGKILL), after killing, by pid, the gom
    daemons that run were still running inside them."""
    cp = _run(['ip', 'netns', 'list'], check=False)
    for line in cp.stdout.splitlines():
        name = line.split()[0] if line.split() else ''
        m = NS_RE.match(name)
        if not m or _pid_alive(int(m.group(1))):
            continue
        pids = _run(['ip', 'netns', 'pids', name], check=False).stdout
        for p in pids.split():
            try:
                os.kill(int(p), signal.SIGKILL)
            except (ValueError, OSError):
                pass
        _run(['ip', 'netns', 'del', name], check=False)


_LABS = set()


@atexit.register
def _destroy_all():
    for lab in list(_LABS):
        lab.destroy()


def _sigterm(signum, frame):
    # Turn SIGTERM (ctest's or a person's) into a normal exit so atexit
    # handlers kill the daemons and delete the namespaces.
    raise SystemExit(128 + signum)


class Lab(object):
    """Three namespaces joined through a WAN namespace; see module doc."""

    def __init__(self, tag='lab'):
        self.tag = re.sub(r'[^0-9a-z]', '', tag.lower())[:8] or 'lab'
        base = 'gomnf-%d-%s' % (os.getpid(), self.tag)
        self.hub_ns = base + '-hub'
        self.agents_ns = base + '-agt'
        self.wan_ns = base + '-wan'
        self.created = []
        self._flapper = None
        self._relay = None      # the relay.py process, when on
        self._relay_buf = b''
        self.log = []           # (monotonic time, event) of every fault

    # ------------------------------------------------------------ lifecycle

    def create(self):
        sweep_stale()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _sigterm)
        _LABS.add(self)
        try:
            for ns in (self.hub_ns, self.agents_ns, self.wan_ns):
                _run(['ip', 'netns', 'add', ns])
                self.created.append(ns)
                self.ip(ns, 'link', 'set', 'lo', 'up')
            # veth pairs made straight inside the namespaces: the root
            # namespace never sees their names.
            self.ip(self.wan_ns, 'link', 'add', 'wh', 'type', 'veth',
                    'peer', 'name', 'h0', 'netns', self.hub_ns)
            self.ip(self.wan_ns, 'link', 'add', 'wa', 'type', 'veth',
                    'peer', 'name', 'a0', 'netns', self.agents_ns)
            for ns, dev, addr in ((self.wan_ns, 'wh', HUB_GW),
                                  (self.wan_ns, 'wa', AGENTS_GW),
                                  (self.hub_ns, 'h0', HUB_ADDR),
                                  (self.agents_ns, 'a0', AGENTS_ADDR)):
                self.ip(ns, 'addr', 'add', addr + '/24', 'dev', dev)
                self.ip(ns, 'link', 'set', dev, 'up')
            self.ip(self.hub_ns, 'route', 'add', 'default', 'via', HUB_GW)
            self.ip(self.agents_ns, 'route', 'add', 'default', 'via',
                    AGENTS_GW)
            self.ns(self.wan_ns, 'sysctl', '-q', '-w',
                    'net.ipv4.ip_forward=1')
            # Our own chains, so clear() flushes only what we added.
            for chain in ('GOMNF_LOSS', 'GOMNF_CUT'):
                self.ns(self.wan_ns, 'iptables', '-N', chain)
                self.ns(self.wan_ns, 'iptables', '-A', 'FORWARD', '-j',
                        chain)
            self.wait_reachable(10)
        except Exception:
            self.destroy()
            raise
        return self

    def destroy(self):
        """Stops the flapper and deletes the namespaces. Never raises.
        (The daemons inside must be stopped first: gomtest's cleanups do.)"""
        try:
            self.stop_flap()
        except Exception:
            pass
        self._relay_kill()
        for ns in reversed(self.created):
            _run(['ip', 'netns', 'del', ns], check=False)
        self.created = []
        _LABS.discard(self)

    # ------------------------------------------------------------- commands

    def ip(self, ns, *args):
        return _run(['ip', '-n', ns] + list(args))

    def prefix(self, ns):
        return ['ip', 'netns', 'exec', ns]

    def ns(self, ns, *argv, check=True):
        """Runs a command inside namespace ns; returns CompletedProcess."""
        return _run(self.prefix(ns) + list(argv), check=check)

    def _note(self, event):
        self.log.append((time.monotonic(), event))

    def reachable(self, port=9, timeout=1.0):
        """True if a TCP SYN from the agents' namespace to the hub's address
        gets an answer (SYN-ACK or RST) within timeout."""
        code = ('import socket,sys\n'
                's=socket.socket()\ns.settimeout(%r)\n'
                'try:\n s.connect((%r,%d))\nexcept ConnectionRefusedError:\n'
                ' pass\nexcept OSError:\n sys.exit(1)\n' %
                (timeout, HUB_ADDR, port))
        cp = self.ns(self.agents_ns, sys.executable, '-c', code, check=False)
        return cp.returncode == 0

    def wait_reachable(self, timeout):
        return gomtest.wait_for(self.reachable, timeout,
                                'hub address reachable from the agents')

    # ------------------------------------------------------------- profiles

    def _devs(self, direction):
        assert direction in DIRECTIONS, direction
        return {'both': ['wa', 'wh'], 'to_agents': ['wa'],
                'to_hub': ['wh']}[direction]

    def _fwd(self, direction):
        """iptables FORWARD match for each direction. Only the outgoing
        link: with the relay on, a packet is forwarded twice (wh -> TUN,
        TUN -> wa), and `-o wa` / `-o wh` match it exactly once."""
        assert direction in DIRECTIONS, direction
        d = {'to_agents': ['-o', 'wa'],
             'to_hub': ['-o', 'wh']}
        if direction == 'both':
            return [d['to_agents'], d['to_hub']]
        return [d[direction]]

    def shape(self, rate_kbit, burst=16384, direction='both',
              latency_ms=500):
        """Token bucket: rate_kbit kbit/s, burst bytes, queue of at most
        latency_ms at that rate (beyond it packets are dropped)."""
        for dev in self._devs(direction):
            self.ns(self.wan_ns, 'tc', 'qdisc', 'replace', 'dev', dev,
                    'root', 'tbf', 'rate', '%dkbit' % rate_kbit,
                    'burst', str(burst), 'latency', '%dms' % latency_ms)
        self._note('shape %d kbit/s %s' % (rate_kbit, direction))

    def loss(self, p, direction='both'):
        """Drops each packet with probability p (0..1) in that direction."""
        assert 0 < p < 1, p
        for match in self._fwd(direction):
            self.ns(self.wan_ns, 'iptables', '-A', 'GOMNF_LOSS', *match,
                    '-m', 'statistic', '--mode', 'random',
                    '--probability', '%.4f' % p, '-j', 'DROP')
        self._note('loss %.2f %s' % (p, direction))

    def partition(self):
        """Cable cut: both WAN links down (connected routes vanish, the
        hub's and agents' links lose carrier). Nothing answers."""
        for dev in ('wa', 'wh'):
            self.ip(self.wan_ns, 'link', 'set', dev, 'down')
        self._note('partition')

    def blackhole(self):
        """Every packet between hub and agents silently dropped (links up,
        no RST, no ICMP): only heartbeats can tell."""
        for match in self._fwd('both'):
            self.ns(self.wan_ns, 'iptables', '-A', 'GOMNF_CUT', *match,
                    '-j', 'DROP')
        self._note('blackhole')

    def heal(self):
        """Undoes partition() and blackhole() (not shape or loss)."""
        self.ns(self.wan_ns, 'iptables', '-F', 'GOMNF_CUT')
        for dev in ('wa', 'wh'):
            self.ip(self.wan_ns, 'link', 'set', dev, 'up')
        self._note('heal')

    def clear(self):
        """Removes every profile: heal, loss rules, tc qdiscs, relay."""
        self.stop_flap()
        self.relay_stop()
        self.heal()
        self.ns(self.wan_ns, 'iptables', '-F', 'GOMNF_LOSS')
        for dev in ('wa', 'wh'):
            self.ns(self.wan_ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root',
                    check=False)
        self._note('clear')

    def drops(self):
        """{chain: packets dropped so far} in the WAN (proof a fault bit)."""
        out = {}
        for chain in ('GOMNF_LOSS', 'GOMNF_CUT'):
            cp = self.ns(self.wan_ns, 'iptables', '-L', chain, '-v', '-x',
                         '-n', check=False)
            n = 0
            for line in cp.stdout.splitlines()[2:]:
                f = line.split()
                if len(f) > 2 and f[2] == 'DROP':
                    n += int(f[0])
            out[chain] = n
        return out

    def wire_bytes(self):
        """{'to_agents': {'bytes': B, 'packets': P}, 'to_hub': {...}}: what
        the WAN sent out of `wa` (to the agents) and `wh` (to the hub)
        since the lab was made (the links' tx counters: after loss, cuts,
        the relay and shaping; packets a qdisc dropped are not counted).
        Subtract two readings to measure a phase."""
        files = ['/sys/class/net/%s/statistics/%s' % (dev, what)
                 for dev in ('wa', 'wh') for what in ('tx_bytes',
                                                      'tx_packets')]
        cp = self.ns(self.wan_ns, 'cat', *files)
        v = [int(x) for x in cp.stdout.split()]
        assert len(v) == 4, cp.stdout
        return {'to_agents': {'bytes': v[0], 'packets': v[1]},
                'to_hub': {'bytes': v[2], 'packets': v[3]}}

    @staticmethod
    def wire_total(before, after):
        """Bytes both ways between two wire_bytes() readings."""
        return sum(after[d]['bytes'] - before[d]['bytes']
                   for d in ('to_agents', 'to_hub'))

    # ---------------------------------------------------------------- relay

    RELAY_DEV = 'gomrl0'
    RELAY_TABLE = '77'

    def relay(self, delay_ms=0, jitter_ms=0, loss=0.0, reorder=0.0,
              duplicate=0.0, reorder_ms=50, direction='both', seed=None):
        """Puts the user-space forwarder (relay.py) on the path, if it is
        not there yet, and sets `direction`'s profile (the other direction
        keeps its own): one-way delay_ms +- jitter_ms, loss, reorder
        (that share held reorder_ms longer, so later packets overtake it),
        duplicate (that share sent twice). Undone by relay_stop()/clear()."""
        assert direction in DIRECTIONS, direction
        if self._relay is None:
            self._relay_start()
        msg = {'cmd': 'set', 'direction': direction, 'delay_ms': delay_ms,
               'jitter_ms': jitter_ms, 'loss': loss, 'reorder': reorder,
               'duplicate': duplicate, 'reorder_ms': reorder_ms}
        if seed is not None:
            msg['seed'] = seed
        ans = self._relay_call(msg)
        self._note('relay %s delay %d+-%d ms loss %.2f reorder %.2f '
                   'duplicate %.2f' % (direction, delay_ms, jitter_ms, loss,
                                       reorder, duplicate))
        return ans['config']

    def relay_stats(self):
        """The relay's counters: {'to_hub': {...}, 'to_agents': {...},
        'held': n} (see relay.py); raises if the relay is not running."""
        assert self._relay is not None, 'relay not running'
        return self._relay_call({'cmd': 'stats'})

    def relay_stop(self):
        """Takes the relay off the path (plain kernel forwarding again);
        packets it still held are lost. Returns its last counters (or
        None if it was not running)."""
        if self._relay is None:
            return None
        for pref in ('1000', '1001'):
            self.ns(self.wan_ns, 'ip', 'rule', 'del', 'pref', pref,
                    check=False)
        stats = None
        try:
            stats = self._relay_call({'cmd': 'stats'})
            self._relay_call({'cmd': 'quit'})
            self._relay.wait(5)
        except Exception:
            pass
        self._relay_kill()
        self._note('relay off')
        return stats

    def _relay_start(self):
        proc = subprocess.Popen(
            self.prefix(self.wan_ns) + [sys.executable,
                                        os.path.join(HERE, 'relay.py'),
                                        self.RELAY_DEV],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._relay = proc
        self._relay_buf = b''
        try:
            ans = self._relay_read(10)
            assert ans.get('ready'), ans
            w = self.wan_ns
            for k in ('all', 'default', 'wa', 'wh', self.RELAY_DEV):
                self.ns(w, 'sysctl', '-q', '-w',
                        'net.ipv4.conf.%s.rp_filter=0' % k)
            self.ns(w, 'sysctl', '-q', '-w',
                    'net.ipv6.conf.%s.disable_ipv6=1' % self.RELAY_DEV,
                    check=False)
            self.ip(w, 'link', 'set', self.RELAY_DEV, 'up')
            self.ip(w, 'route', 'replace', 'default', 'dev', self.RELAY_DEV,
                    'table', self.RELAY_TABLE)
            self.ip(w, 'rule', 'add', 'pref', '1000', 'iif', 'wh', 'lookup',
                    self.RELAY_TABLE)
            self.ip(w, 'rule', 'add', 'pref', '1001', 'iif', 'wa', 'lookup',
                    self.RELAY_TABLE)
        except Exception:
            self._relay_kill()
            raise
        self._note('relay on')

    def _relay_read(self, timeout):
        fd = self._relay.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b'\n' not in self._relay_buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError('relay: no answer within %d s' % timeout)
            r, _, _ = select.select([fd], [], [], left)
            if r:
                data = os.read(fd, 65536)
                if not data:
                    raise RuntimeError('relay exited (status %r)'
                                       % self._relay.poll())
                self._relay_buf += data
        line, self._relay_buf = self._relay_buf.split(b'\n', 1)
        return json.loads(line.decode())

    def _relay_call(self, msg, timeout=10):
        assert self._relay is not None, 'relay not running'
        self._relay.stdin.write((json.dumps(msg) + '\n').encode())
        self._relay.stdin.flush()
        ans = self._relay_read(timeout)
        if not ans.get('ok'):
            raise RuntimeError('relay: %s' % ans)
        return ans

    def _relay_kill(self):
        """Kills the relay process if any; never raises."""
        p, self._relay = self._relay, None
        if p is None:
            return
        try:
            if p.poll() is None:
                p.kill()
            p.wait(5)
        except Exception:
            pass
        for f in (p.stdin, p.stdout):
            try:
                f.close()
            except Exception:
                pass

    def link_is_up(self):
        cp = self.ip(self.wan_ns, 'link', 'show', 'wa')
        return 'state UP' in cp.stdout or ',UP' in cp.stdout.split('>')[0]

    # ------------------------------------------------------------- flapping

    def flap(self, up_s, down_s, cycles, how='partition'):
        """Starts a thread: `cycles` times (up for up_s, then cut for down_s),
        then heals and ends. `how` is 'partition' or 'blackhole'. Bounded:
        at most cycles * (up_s + down_s) + a few seconds."""
        assert self._flapper is None, 'already flapping'
        assert how in ('partition', 'blackhole')
        stop = threading.Event()
        self.flap_cycles_done = 0
        self.flap_error = None

        def body():
            try:
                for _ in range(int(cycles)):
                    if stop.wait(up_s):
                        break
                    getattr(self, how)()
                    if stop.wait(down_s):
                        break
                    self.heal()
                    self.flap_cycles_done += 1
            except Exception as e:          # reported by stop_flap
                self.flap_error = e
            finally:
                try:
                    self.heal()
                except Exception as e:
                    self.flap_error = self.flap_error or e

        t = threading.Thread(target=body, name='gomnf-flap', daemon=True)
        self._flapper = (t, stop)
        t.start()
        return t

    def flapping(self):
        return self._flapper is not None and self._flapper[0].is_alive()

    def stop_flap(self, timeout=CMD_TIMEOUT * 3):
        if self._flapper is None:
            return
        t, stop = self._flapper
        stop.set()
        t.join(timeout)
        self._flapper = None
        if self.flap_error:
            raise RuntimeError('flap thread failed: %r' % (self.flap_error,))

    def wait_flap_done(self, timeout):
        """Waits for the flap schedule to finish by itself."""
        gomtest.wait_for(lambda: not self.flapping(), timeout,
                         'flap schedule to end')
        self.stop_flap()


# ------------------------------------------------------------------ daemons

def _start_in(daemon, prefix):
    """gomtest._Daemon.start, with the command line run under prefix."""
    assert daemon.proc is None or daemon.proc.poll() is not None, \
        '%s already running' % daemon.name
    daemon.log_file = open(daemon.log_path, 'ab')
    daemon.log_file.write(('==== %s start at %.3f ====\n'
                           % (daemon.name, time.time())).encode())
    daemon.log_file.flush()
    daemon.start_offset = daemon.log_file.tell()
    daemon.proc = subprocess.Popen(
        prefix + [daemon.binary, 'run', '--config', daemon.cfg],
        stdin=subprocess.DEVNULL, stdout=daemon.log_file,
        stderr=daemon.log_file, cwd=daemon.dir)
    gomtest._LIVE.add(daemon.proc)
    return daemon


class NsHub(gomtest.Hub):
    """A hub serving inside the lab's hub namespace on HUB_ADDR."""

    def __init__(self, lab):
        super().__init__()
        self.lab = lab

    def init(self, dir, port=HUB_PORT):
        key = super().init(dir, port)
        self.endpoint = 'tcp://%s:%d' % (HUB_ADDR, port)
        self.set('endpoint', self.endpoint)
        return key

    def start(self):
        return _start_in(self, self.lab.prefix(self.lab.hub_ns))


class NsAgent(gomtest.Agent):
    """An agent running inside the lab's agents namespace."""

    def __init__(self, lab):
        super().__init__()
        self.lab = lab

    def start(self):
        return _start_in(self, self.lab.prefix(self.lab.agents_ns))


# ---------------------------------------------------------------- test case

NARRATIVE = (
    'Tình hình thực hiện công tác bình đẳng giới tại xã %s trong kỳ %s: '
    'Ban vì sự tiến bộ của phụ nữ đã tổ chức %d buổi tuyên truyền về Luật '
    'Bình đẳng giới và phòng, chống bạo lực gia đình cho hội viên phụ nữ, '
    'đoàn viên thanh niên và người cao tuổi ở các thôn, bản vùng sâu. Tỷ lệ '
    'nữ tham gia cấp ủy đạt %d%%; số vụ bạo lực gia đình được phát hiện và '
    'hỗ trợ kịp thời tăng so với cùng kỳ. Khó khăn: đường truyền mạng ở '
    'các thôn vùng cao chập chờn, cán bộ kiêm nhiệm nhiều việc, kinh phí '
    'hạn hẹp. Kiến nghị: huyện tăng cường tập huấn và hỗ trợ thiết bị.')


class NetFaultCase(gomtest.GomTestCase):
    """GomTestCase with a Lab (created per test, destroyed after the
    daemons are killed) and namespace-aware new_hub / new_agent."""

    lab_tag = 'lab'

    @classmethod
    def setUpClass(cls):
        why = have_tools()
        if why:
            raise RuntimeError('netfault tests cannot run here: ' + why)

    def setUp(self):
        super().setUp()
        self.t_start = time.monotonic()
        self.lab = Lab(self.lab_tag)
        # Registered before any daemon: cleanups run last-in first-out, so
        # the daemons die before their namespaces go.
        self.addCleanup(self.lab.destroy)
        self.lab.create()

    def new_hub(self, name='hub', port=HUB_PORT, **settings):
        hub = self._track(NsHub(self.lab))
        hub.name = name
        hub.init(os.path.join(self.tmp, name), port)
        for k, v in settings.items():
            hub.set(k, v)
        return hub

    def new_agent(self, hub, units, name='agent', enroll=True,
                  enroll_units=None, **settings):
        agent = self._track(NsAgent(self.lab))
        agent.name = name
        agent.init(os.path.join(self.tmp, name), hub.endpoint, hub.key,
                   units)
        for k, v in settings.items():
            agent.set(k, v)
        if enroll:
            hub.enroll(agent.key, enroll_units or units)
        return agent

    def narrative_reports(self, unit, n, form='HT-VSTBPN-6T', first=0,
                          n_cells=40):
        """n report files for unit, each with a Vietnamese narrative and
        n_cells cells (with 40 cells about 1.5 KB on the wire each; each
        further cell adds about 10 bytes)."""
        files = []
        for i in range(first, first + n):
            period = '2026-P%03d' % i
            cells = {'C%03d' % c: (i * 37 + c * 11) % 500
                     for c in range(n_cells)}
            cells['C000'] = None
            texts = {'situation': NARRATIVE % (unit, period, i % 9 + 1,
                                               20 + i % 30),
                     'note': 'Báo cáo số %d của đơn vị %s.' % (i, unit)}
            files.append(self.report(unit, form=form, period=period,
                                     cells=cells, texts=texts,
                                     name='%s_%03d.json' % (unit, i)))
        return files

    def elapsed(self):
        return time.monotonic() - self.t_start

    def say(self, fmt, *args):
        sys.stderr.write('[%s %6.1fs] %s\n' % (self._testMethodName,
                                              self.elapsed(), fmt % args))
        sys.stderr.flush()

    def wait_all_delivered(self, agents, total, timeout, what=None):
        """Waits until the agents hold `total` reports, all acked; returns
        the seconds it took. Progress is printed every ~10 s."""
        t0 = time.monotonic()
        last = [t0]

        def done():
            n = gomtest.acked_count(agents)
            if time.monotonic() - last[0] >= 10:
                last[0] = time.monotonic()
                self.say('acked %d/%d, drops %s', n, total, self.lab.drops())
            return n == total

        try:
            self.wait_for(done, timeout, what or '%d reports acked' % total)
        except AssertionError as e:
            sts = []
            for a in agents:
                try:
                    sts.append('%s: %s' % (a.name, a.status()))
                except Exception as e2:
                    sts.append('%s: %r' % (a.name, e2))
            raise AssertionError('%s\n%s' % (e, '\n'.join(sts)))
        return time.monotonic() - t0

    def deliver_half_and_half(self, name, prefix, n_agents, per_agent,
                              deadline, **agent_settings):
        """The run the line-profile tests share: a hub, n_agents agents
        (units PREFIX01, ...) with per_agent narrative reports each, half
        queued before the agents start and half while they run; waits for
        every ACK, checks the ground truth (each report stored exactly
        once with the agent's receipt, no NACK, nothing rejected) and
        prints the scenario line. Returns (hub, agents, drain_s), drain
        from the agents' start."""
        lab = self.lab
        hub = self.new_hub(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        for i in range(n_agents):
            unit = '%s%02d' % (prefix, i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **agent_settings))
            files.append(self.narrative_reports(unit, per_agent))
        half = per_agent // 2
        for a, fs in zip(agents, files):
            a.submit_ok(*fs[:half])
        total = n_agents * per_agent
        wire0 = lab.wire_bytes()
        t0 = time.monotonic()
        for a in agents:
            a.start()
        for a, fs in zip(agents, files):
            a.submit_ok(*fs[half:])
        self.wait_all_delivered(agents, total, deadline)
        drain = time.monotonic() - t0
        self.check_delivered(name, hub, agents, total, drain, wire0)
        return hub, agents, drain

    def check_delivered(self, name, hub, agents, total, drain, wire0):
        """The ground truth once everything is acknowledged: the daemons
        alive, each report stored exactly once with the agent's receipt,
        no NACK, nothing rejected; prints the scenario line (returned)."""
        self.assert_daemons_alive(hub, *agents)
        rows = self.assert_hub_whole(hub, agents, total)
        sc = self.scenario(name, hub, total, drain, wire0, stored=len(rows))
        self.assertEqual(sc['nacks'], 0)
        for a in agents:
            self.assertEqual(a.status()['rejected'], 0)
        return sc

    def scenario(self, name, hub, sent, drain_s, wire0, stored=None):
        """Prints the scenario's machine-readable line to standard error:

        scenario NAME reports_sent=N stored=N duplicates_suppressed=N
                 drain_s=X bytes_per_report=Y

        stored: rows at the hub (counted here unless given);
        duplicates_suppressed: the hub's `status
        --json` duplicates counter; drain_s: as the test measured it (see
        its doc); bytes_per_report: bytes the WAN sent both ways (tx
        counters of wa and wh, TCP/IP headers, handshakes, heartbeats and
        retransmissions included) since `wire0` (a Lab.wire_bytes()
        reading), divided by reports_sent. Returns the values as a dict."""
        st = hub.status()
        if stored is None:
            stored = len(hub.reports())
        wire = self.lab.wire_total(wire0, self.lab.wire_bytes())
        out = dict(name=name, reports_sent=sent, stored=stored,
                   duplicates_suppressed=st['duplicates'], drain_s=drain_s,
                   bytes_per_report=wire / max(sent, 1), nacks=st['nacks'])
        sys.stderr.write('scenario %(name)s reports_sent=%(reports_sent)d '
                         'stored=%(stored)d duplicates_suppressed='
                         '%(duplicates_suppressed)d drain_s=%(drain_s).1f '
                         'bytes_per_report=%(bytes_per_report).0f\n' % out)
        sys.stderr.flush()
        return out

    def relay_stats(self):
        """The relay's counters, printed compactly (for the log)."""
        st = self.lab.relay_stats()
        for d in ('to_hub', 'to_agents'):
            k = st[d]
            self.say('relay %-9s in %d pkts %d B, out %d pkts %d B, lost %d, '
                     'duplicated %d, reordered %d, overflow %d, write errors '
                     '%d', d, k['pkts_in'], k['bytes_in'], k['pkts_out'],
                     k['bytes_out'], k['lost'], k['duplicated'],
                     k['reordered'], k['overflow'], k['write_errors'])
        return st

    def tcp_rtt_ms(self, samples=3):
        """Round trip of a TCP SYN from the agents to the hub's address
        (median of `samples`, in ms): proof the delay is on the line."""
        code = ('import socket,time\nt=time.monotonic()\n'
                's=socket.socket()\ns.settimeout(10)\n'
                'try:\n s.connect((%r,9))\nexcept ConnectionRefusedError:\n'
                ' pass\nprint(time.monotonic()-t)\n' % HUB_ADDR)
        v = sorted(float(self.lab.ns(self.lab.agents_ns, sys.executable,
                                     '-c', code).stdout) * 1000
                   for _ in range(samples))
        return v[len(v) // 2]

    def nstat(self, ns, *names):
        """{name: value} of kernel TCP counters (nstat -az) in namespace
        ns, e.g. TcpExtTCPOFOQueue (segments that arrived out of order)."""
        cp = self.lab.ns(ns, 'nstat', '-asz', '--json', check=False)
        try:
            d = json.loads(cp.stdout)
            d = d.get('kernel', d)
        except ValueError:
            d = {}
        return {n: int(d.get(n, 0)) for n in names}

    def assert_daemons_alive(self, *daemons):
        for d in daemons:
            d.assert_alive()


def main():
    gomtest.main()

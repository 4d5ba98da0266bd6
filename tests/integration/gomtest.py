"""Harness for gom's integration tests.

Runs the real gom-hub and gom-agent binaries (paths from $GOM_HUB and
$GOM_AGENT, falling back to the CMake build tree) in temporary folders on
127.0.0.1, drives them through their documented command line (docs/cli.md)
and observes them only through it and their logs.

Rules the helpers enforce:
- every wait has a deadline (wait_for); a timeout names what was awaited and
  shows the tail of the logs;
- every process started is killed at cleanup, even when the test fails;
- temporary folders are removed unless GOM_KEEP=1.

Standard library only.
"""

import atexit
import collections
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
# The seed documents' forms, and the small Hà Tĩnh tree the tests share
# (one district, three communes).
SEED_FORMS = sorted(
    os.path.join(ROOT, 'deploy', 'forms', f)
    for f in os.listdir(os.path.join(ROOT, 'deploy', 'forms'))
    if f.endswith('.json'))
with open(os.path.join(ROOT, 'deploy', 'units-ha-tinh-sample.csv'),
          encoding='utf-8') as _f:
    SAMPLE_TREE = _f.read()
HUB_BIN = os.environ.get('GOM_HUB',
                         os.path.join(ROOT, 'build', 'hub', 'gom-hub'))
AGENT_BIN = os.environ.get('GOM_AGENT',
                           os.path.join(ROOT, 'build', 'agent', 'gom-agent'))
KEEP = os.environ.get('GOM_KEEP') == '1'

CLI_TIMEOUT = 60            # seconds any one CLI command may take
STOP_TIMEOUT = 10           # seconds a daemon may take to exit on SIGTERM
POLL = 0.1                  # seconds between polls in wait_for

Z85_KEY = r'[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}'
HEX32 = re.compile(r'^[0-9a-f]{32}$')

# Settings that make agents react quickly in tests (see the brief).
FAST_AGENT = {
    'resend_min_ms': 500,
    'resend_max_ms': 10000,
    'reconnect_ivl_ms': 100,
    'reconnect_ivl_max_ms': 1000,
    'spool_scan_ms': 200,
    'heartbeat_ivl_ms': 1000,
    'heartbeat_timeout_ms': 3000,
}

# Every daemon process still alive; killed at interpreter exit as a last
# resort (test cleanups normally do it first).
_LIVE = set()


@atexit.register
def _kill_leftovers():
    for proc in list(_LIVE):
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(5)
            except Exception:
                pass
    _LIVE.clear()


# ---------------------------------------------------------------- helpers

_PORTS_GIVEN = set()


def _ephemeral_low():
    """The first port of the kernel's ephemeral range (outgoing
    connections take theirs from it)."""
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, below the
    kernel's ephemeral range: a port from bind(0) is one the kernel also
    gives to outgoing connections, and the agents of a test running beside
    this one (ctest -j2) reconnect often enough to take it before the hub
    listens on it ("Address already in use", seen in CI)."""
    low, high = 20000, _ephemeral_low() - 1
    for _ in range(200 if high - low >= 1000 else 0):
        port = random.randint(low, high)
        if port in _PORTS_GIVEN:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            s.close()
        _PORTS_GIVEN.add(port)
        return port
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def tail(path, lines=40):
    """Last lines of a text file, or a note that it does not exist."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        return '<%s: %s>' % (path, e)
    text = data.decode('utf-8', 'replace').splitlines()
    return '\n'.join(text[-lines:])


def _log_paths(logs):
    out = []
    for item in logs or ():
        if isinstance(item, str):
            out.append(item)
        elif getattr(item, 'log_path', None):
            out.append(item.log_path)
    return out


def start_with_fault(node, spec, var='GOM_FAULT'):
    """Starts node's daemon with GOM_FAULT=spec (or var=spec, e.g.
    GOM_FAULT_IO, common/gom_fault.h, or a helper's path such as
    GOM_AGENT_QUIET), only that process."""
    os.environ[var] = spec
    try:
        node.start()
    finally:
        del os.environ[var]


def proc_comm(pid):
    """The process's name (/proc/PID/comm), or '' if it is gone."""
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return ''


def wait_for(predicate, timeout, what, logs=(), interval=POLL):
    """Polls predicate until it returns something truthy, and returns that.

    Raises AssertionError naming `what`, with the last exception the
    predicate raised (if any) and the tail of each log in `logs` (paths or
    objects with a log_path), when `timeout` seconds pass first.
    """
    interval = min(max(interval, 0.05), 0.2)
    deadline = time.monotonic() + timeout
    last_exc = None
    polls = 0
    while True:
        polls += 1
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as e:      # a CLI failing transiently, say
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    msg = ['timed out after %.1f s (%d polls) waiting for: %s'
           % (timeout, polls, what)]
    if last_exc is not None:
        msg.append('last error from the check: %r' % (last_exc,))
    for path in _log_paths(logs):
        msg.append('---- tail of %s ----\n%s' % (path, tail(path)))
    raise AssertionError('\n'.join(msg))


def run_cli(argv, check=True, timeout=CLI_TIMEOUT, what=None):
    """Runs a CLI command to completion; returns the CompletedProcess.

    With check, a non-zero exit status raises AssertionError showing the
    command's output.
    """
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout, encoding='utf-8',
                            errors='replace')
    except subprocess.TimeoutExpired as e:
        raise AssertionError('%s did not finish within %d s (stdout %r, '
                             'stderr %r)' % (' '.join(argv[:3]), timeout,
                                             e.stdout, e.stderr))
    if check and cp.returncode != 0:
        raise AssertionError(
            '%s failed with status %d\ncommand: %s\nstdout: %s\nstderr: %s'
            % (what or argv[1], cp.returncode, ' '.join(argv), cp.stdout,
               cp.stderr))
    return cp


def run_json(argv, what=None):
    cp = run_cli(argv, what=what)
    try:
        return json.loads(cp.stdout)
    except ValueError as e:
        raise AssertionError('%s --json printed invalid JSON (%s): %r'
                             % (what or argv[1], e, cp.stdout[:2000]))


def make_report(unit, form='F1', period='2026-H1', revision=1, cells=None,
                texts=None, dir=None, name=None, extra=None):
    """Writes a JSON report file and returns its path.

    cells/texts default to a small set derived from the natural key, so
    different reports have different content. `dir` defaults to a folder
    made with tempfile (GomTestCase.report() passes its own); `extra` is
    merged into the top-level object (to add or override fields).
    """
    if cells is None:
        cells = {'C01': revision, 'C02': len(unit) * 10 + len(form)}
    if texts is None:
        texts = {'T01': 'Báo cáo %s %s %s' % (unit, form, period)}
    doc = {'unit': unit, 'form': form, 'period': period,
           'revision': revision, 'cells': cells, 'texts': texts}
    if extra:
        doc.update(extra)
    if dir is None:
        dir = _default_report_dir()
    os.makedirs(dir, exist_ok=True)
    if name is None:
        name = '%s_%s_%s_r%d.json' % (unit, form, period, revision)
    path = os.path.join(dir, name)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f, ensure_ascii=False)
    return path


def many_cells(i, n=300):
    """n cells for report number i (C000 given as null: not reported).
    Realistically sized reports make a batch take a while to drain."""
    cells = {'C%03d' % c: i * 1000 + c for c in range(n)}
    cells['C000'] = None
    return cells


def acked_count(agents):
    """Reports the agents hold as acknowledged (a progress meter that does
    not depend on the hub's database)."""
    return sum(a.status()['acked'] for a in agents)


_default_dir = None


def _default_report_dir():
    global _default_dir
    if _default_dir is None:
        _default_dir = tempfile.mkdtemp(prefix='gom-reports-')
        if not KEEP:
            atexit.register(shutil.rmtree, _default_dir, True)
    return _default_dir


def write_file_atomic(path, data):
    """Writes data (bytes or str) to a dot-file beside path, then renames."""
    d, base = os.path.split(path)
    tmp = os.path.join(d, '.' + base + '.tmp')
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


# ------------------------------------------------------------- config files

def _zpl_value(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, int):
        return str(value)
    return '"%s"' % value


def zpl_set(path, section, key, value):
    """Sets `key = value` in the top-level `section` of a ZPL file: replaces
    the existing line or adds one right under the section header."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    line = '    %s = %s' % (key, _zpl_value(value))
    start = None
    for i, text in enumerate(lines):
        if text.rstrip() == section:
            start = i
            break
    if start is None:
        lines += [section, line]
    else:
        end = len(lines)
        for j in range(start + 1, len(lines)):
            text = lines[j]
            if text and not text[0].isspace() and not text.startswith('#'):
                end = j
                break
        pat = re.compile(r'^    %s\s*=' % re.escape(key))
        for j in range(start + 1, end):
            if pat.match(lines[j]):
                lines[j] = line
                break
        else:
            lines.insert(start + 1, line)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    os.rename(tmp, path)


def zpl_get(path, section, key):
    """Value of key in section (quotes removed), or None."""
    in_section = False
    pat = re.compile(r'^    %s\s*=\s*(.*?)\s*$' % re.escape(key))
    with open(path, encoding='utf-8') as f:
        for text in f.read().splitlines():
            if text and not text[0].isspace():
                in_section = text.rstrip() == section
                continue
            m = pat.match(text) if in_section else None
            if m:
                v = m.group(1)
                if len(v) >= 2 and v[0] == v[-1] and v[0] in '"\'':
                    v = v[1:-1]
                return v
    return None


# ----------------------------------------------------------------- daemons

class _Daemon(object):
    """A gom program folder with one foreground daemon at a time."""

    binary = None
    section = None
    cfg_name = None
    log_name = None

    def __init__(self):
        self.dir = None
        self.proc = None
        self.log_path = None
        self.log_file = None
        self.start_offset = 0
        self.name = self.__class__.__name__.lower()

    @property
    def cfg(self):
        return os.path.join(self.dir, self.cfg_name)

    def set(self, key, value):
        """Edits the config file; takes effect at the next start."""
        zpl_set(self.cfg, self.section, key, value)

    def get(self, key):
        return zpl_get(self.cfg, self.section, key)

    # -- process control

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, \
            '%s already running' % self.name
        self.log_file = open(self.log_path, 'ab')
        self.log_file.write(('==== %s start at %.3f ====\n'
                             % (self.name, time.time())).encode())
        self.log_file.flush()
        self.start_offset = self.log_file.tell()
        self.proc = subprocess.Popen(
            [self.binary, 'run', '--config', self.cfg],
            stdin=subprocess.DEVNULL, stdout=self.log_file,
            stderr=self.log_file, cwd=self.dir)
        _LIVE.add(self.proc)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _reap(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        _LIVE.discard(self.proc)
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return rc

    def kill9(self):
        """SIGKILL and reap. Returns the exit status (-9)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        rc = self._reap(STOP_TIMEOUT)
        assert rc is not None, '%s survived SIGKILL' % self.name
        return rc

    def signal_and_wait(self, sig, timeout=STOP_TIMEOUT):
        """Sends sig and waits for the exit; returns (status, seconds).
        On timeout kills with SIGKILL and raises AssertionError."""
        assert self.alive(), '%s is not running (status %r)\n%s' % (
            self.name, self.proc and self.proc.poll(), tail(self.log_path))
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        rc = self._reap(timeout)
        took = time.monotonic() - t0
        if rc is None:
            self.kill9()
            raise AssertionError(
                '%s did not exit within %.0f s of signal %d\n%s'
                % (self.name, timeout, sig, tail(self.log_path)))
        return rc, took

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait (with deadline), assert exit status 0."""
        rc, _ = self.signal_and_wait(signal.SIGTERM, timeout)
        assert rc == 0, '%s exited with status %d on SIGTERM\n%s' % (
            self.name, rc, tail(self.log_path))
        return rc

    def cleanup(self):
        """Kills the daemon if it runs; never raises."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
            if self.proc is not None:
                _LIVE.discard(self.proc)
        except Exception:
            pass
        if self.log_file:
            try:
                self.log_file.close()
            except Exception:
                pass
            self.log_file = None

    # -- logs

    def log_text(self, since_start=False):
        try:
            with open(self.log_path, 'rb') as f:
                if since_start:
                    f.seek(self.start_offset)
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def log_count(self, text):
        return self.log_text().count(text)

    def wait_log(self, text, timeout=20, since_start=True, what=None,
                 logs=()):
        return wait_for(lambda: text in self.log_text(since_start), timeout,
                        what or '%s log to contain %r' % (self.name, text),
                        logs=[self] + list(logs))

    def assert_alive(self):
        assert self.alive(), '%s died (status %r)\n%s' % (
            self.name, self.proc and self.proc.poll(), tail(self.log_path))

    def _cli(self, *args, **kw):
        return run_cli([self.binary] + list(args), **kw)


class Hub(_Daemon):
    binary = HUB_BIN
    section = 'hub'
    cfg_name = 'hub.cfg'
    log_name = 'hub.log'

    def init(self, dir, port):
        """gom-hub init; returns the hub's public key."""
        self.dir = dir
        self.port = port
        self.endpoint = 'tcp://127.0.0.1:%d' % port
        self.log_path = os.path.join(dir, self.log_name)
        cp = run_cli([HUB_BIN, 'init', '--dir', dir,
                      '--endpoint', self.endpoint], what='gom-hub init')
        m = re.search(r'^hub-key: (%s)$' % Z85_KEY, cp.stdout, re.M)
        assert m, 'gom-hub init printed no hub-key line: %r' % cp.stdout
        self.key = m.group(1)
        for f in ('hub.cfg', 'hub.cert', 'hub.cert_secret'):
            assert os.path.exists(os.path.join(dir, f)), \
                'gom-hub init did not write %s' % f
        # No dashboard unless a test asks for one (enable_http): hubs of
        # tests running side by side would all want port 8080.
        self.set('http_port', '0')
        self.http_port = None
        return self.key

    def install_pack(self, forms=SEED_FORMS, tree=SAMPLE_TREE):
        """Copies form files into the hub's form pack and writes tree (CSV
        text; None: no tree) as its units.csv. Takes effect at start."""
        pack = os.path.join(self.dir, 'forms')
        os.makedirs(pack, exist_ok=True)
        for f in forms:
            shutil.copy(f, pack)
        if tree is not None:
            with open(os.path.join(self.dir, 'units.csv'), 'w',
                      encoding='utf-8') as f:
                f.write(tree)

    def enable_http(self, port):
        """Serves the dashboard on 127.0.0.1:port (next start)."""
        self.set('http_port', str(port))
        self.set('http_cookie_secure', '0')
        self.http_port = port

    def add_user(self, name, role, password):
        """gom-hub user add, the password on standard input."""
        cp = subprocess.run(
            [HUB_BIN, 'user', 'add', '--config', self.cfg, '--name', name,
             '--role', role], input=password + '\n', capture_output=True,
            encoding='utf-8', timeout=CLI_TIMEOUT)
        assert cp.returncode == 0, 'gom-hub user add %s failed: %s' % (
            name, cp.stderr)
        return cp

    def wait_listening(self, timeout=20):
        self.wait_log('listening on', timeout)
        self.assert_alive()

    def enroll(self, key, units):
        if not isinstance(units, str):
            units = ','.join(units)
        cp = self._cli('enroll', '--config', self.cfg, '--unit', units,
                       '--key', key, what='gom-hub enroll')
        assert cp.stdout.startswith('enrolled: %s units: ' % key), \
            'unexpected enroll output %r' % cp.stdout
        return cp

    def revoke(self, key):
        cp = self._cli('revoke', '--config', self.cfg, '--key', key,
                       what='gom-hub revoke')
        assert cp.stdout.startswith('revoked: %s' % key), \
            'unexpected revoke output %r' % cp.stdout
        return cp

    def reports(self):
        out = run_json([HUB_BIN, 'reports', '--config', self.cfg, '--json'],
                       what='gom-hub reports')
        assert isinstance(out, list), 'reports --json is not an array'
        return out

    def status(self):
        return run_json([HUB_BIN, 'status', '--config', self.cfg, '--json'],
                        what='gom-hub status')

    def agents(self):
        return run_json([HUB_BIN, 'agents', '--config', self.cfg, '--json'],
                        what='gom-hub agents')

    def db_path(self):
        return os.path.join(self.dir, self.get('database') or 'hub.db')


class Agent(_Daemon):
    binary = AGENT_BIN
    section = 'agent'
    cfg_name = 'agent.cfg'
    log_name = 'agent.log'

    def init(self, dir, hub_endpoint, hub_key, units, fast=True):
        """gom-agent init (+ the FAST_AGENT settings); returns the key."""
        if not isinstance(units, str):
            units = ','.join(units)
        self.dir = dir
        self.log_path = os.path.join(dir, self.log_name)
        cp = run_cli([AGENT_BIN, 'init', '--dir', dir, '--hub', hub_endpoint,
                      '--hub-key', hub_key, '--unit', units],
                     what='gom-agent init')
        m = re.search(r'^agent-key: (%s)$' % Z85_KEY, cp.stdout, re.M)
        assert m, 'gom-agent init printed no agent-key line: %r' % cp.stdout
        self.key = m.group(1)
        for f in ('agent.cfg', 'agent.cert', 'agent.cert_secret'):
            assert os.path.exists(os.path.join(dir, f)), \
                'gom-agent init did not write %s' % f
        if fast:
            for k, v in FAST_AGENT.items():
                self.set(k, v)
        return self.key

    @property
    def spool(self):
        return os.path.join(self.dir, self.get('spool') or 'spool')

    def submit(self, *files):
        """gom-agent submit FILE...; the CompletedProcess, unchecked."""
        return self._cli('submit', '--config', self.cfg, *files, check=False)

    def submit_ok(self, *files):
        """submit that must succeed; returns {file: report_id}."""
        cp = self.submit(*files)
        assert cp.returncode == 0, 'submit failed (%d): %s' % (
            cp.returncode, cp.stderr)
        ids = parse_submit(cp.stdout)
        missing = [f for f in files if f not in ids]
        assert not missing, 'submit printed no line for %s\nstdout: %s' % (
            missing[:5], cp.stdout[:2000])
        return {f: ids[f][1] for f in files}

    def status(self):
        return run_json([AGENT_BIN, 'status', '--config', self.cfg,
                         '--json'], what='gom-agent status')

    def list(self):
        out = run_json([AGENT_BIN, 'list', '--config', self.cfg, '--json'],
                       what='gom-agent list')
        assert isinstance(out, list), 'list --json is not an array'
        return out

    def by_id(self):
        return {r['report_id']: r for r in self.list()}


SUBMIT_LINE = re.compile(
    r'^(queued|already queued): (.+?) (\S+) (\S+) (\S+) r(\d+) '
    r'([0-9a-f]{32})(?: .*)?$')


def parse_submit(stdout):
    """{file: (verb, report_id, unit, form, period, revision)} from the
    standard output of gom-agent submit."""
    out = {}
    for line in stdout.splitlines():
        m = SUBMIT_LINE.match(line)
        if m:
            verb, f, unit, form, period, rev, rid = m.groups()
            out[f] = (verb, rid, unit, form, period, int(rev))
    return out


# --------------------------------------------------------------- test case

class GomTestCase(unittest.TestCase):
    """Base class: a temporary folder per test and tracked daemons."""

    def setUp(self):
        for b in (HUB_BIN, AGENT_BIN):
            if not os.access(b, os.X_OK):
                self.fail('binary %s missing; build with cmake, or set '
                          'GOM_HUB / GOM_AGENT' % b)
        self.tmp = tempfile.mkdtemp(prefix='gom-%s-' % self._testMethodName)
        self.nodes = []
        self.addCleanup(self._cleanup_tmp)

    def _cleanup_tmp(self):
        for n in self.nodes:
            n.cleanup()
        if KEEP:
            sys.stderr.write('\n[GOM_KEEP] %s kept in %s\n'
                             % (self.id(), self.tmp))
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _track(self, node):
        self.nodes.append(node)
        self.addCleanup(node.cleanup)
        return node

    def new_hub(self, name='hub', port=None):
        hub = self._track(Hub())
        hub.name = name
        hub.init(os.path.join(self.tmp, name), port or free_port())
        return hub

    def new_agent(self, hub, units, name='agent', enroll=True,
                  enroll_units=None):
        agent = self._track(Agent())
        agent.name = name
        agent.init(os.path.join(self.tmp, name), hub.endpoint, hub.key,
                   units)
        if enroll:
            hub.enroll(agent.key, enroll_units or units)
        return agent

    def report(self, unit, **kw):
        kw.setdefault('dir', os.path.join(self.tmp, 'files'))
        return make_report(unit, **kw)

    def wait_for(self, predicate, timeout, what, logs=None):
        return wait_for(predicate, timeout, what,
                        logs=self.nodes if logs is None else logs)

    # -- common observations

    def wait_forms_cached(self, agent, n, timeout=30):
        """Waits until the agent has cached n forms from the hub (it
        checks a submitted report against its cache: a form not yet
        there is refused)."""
        d = os.path.join(agent.dir, 'forms')
        self.wait_for(lambda: os.path.isdir(d) and len(
            [x for x in os.listdir(d) if x.endswith('.json')]) >= n, timeout,
            '%s caches the %d forms' % (agent.name, n))

    def wait_all_acked(self, agent, n, timeout=60):
        """Waits until the agent's list has n reports, all acked."""
        def done():
            rows = agent.list()
            return (len(rows) == n
                    and all(r['state'] == 'acked' for r in rows)) and rows

        def what():
            return '%s: %d reports acked' % (agent.name, n)
        try:
            return self.wait_for(done, timeout, what())
        except AssertionError as e:
            try:
                st = agent.status()
            except Exception as e2:
                st = repr(e2)
            raise AssertionError('%s\nagent status: %s' % (e, st))

    def _none(self, items, what):
        if items:
            self.fail('%d %s, e.g. %s' % (len(items), what, items[:5]))

    def assert_hub_whole(self, hub, agents, expect_total=None):
        """Every report in the agents' lists is stored at the hub exactly
        once, with the agent's receipt, and no natural key twice."""
        rows = hub.reports()
        ids = collections.Counter(r['report_id'] for r in rows)
        dup_ids = sorted(i for i, n in ids.items() if n > 1)
        self._none(dup_ids, 'report_id(s) stored more than once')
        keys = collections.Counter((r['unit'], r['form'], r['period'],
                                    r['revision']) for r in rows)
        dup_keys = sorted(k for k, n in keys.items() if n > 1)
        self._none(dup_keys, 'natural key(s) stored more than once')
        receipts = collections.Counter(r['receipt'] for r in rows)
        self._none(sorted(k for k, n in receipts.items() if n > 1),
                   'receipt(s) shared by two stored reports')
        by_id = {r['report_id']: r for r in rows}
        want = {}
        for a in agents:
            for r in a.list():
                self.assertEqual(r['state'], 'acked',
                                 '%s: %s' % (a.name, r))
                want[r['report_id']] = (a, r)
        self._none(sorted(set(want) - set(by_id)),
                   'report(s) acked on an agent but not at the hub')
        self._none(sorted(set(by_id) - set(want)),
                   'report(s) at the hub unknown to the agents')
        for rid, (a, r) in want.items():
            h = by_id[rid]
            self.assertEqual(r['receipt'], h['receipt'],
                             'receipt differs for %s' % rid)
            self.assertEqual(
                (r['unit'], r['form'], r['period'], r['revision']),
                (h['unit'], h['form'], h['period'], h['revision']))
            self.assertEqual(h['agent_key'], a.key)
        if expect_total is not None:
            self.assertEqual(len(rows), expect_total)
        return rows


def main():
    unittest.main(verbosity=2)

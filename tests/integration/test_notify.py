"""sd_notify from gom-hub and gom-agent (issue 9, part 1; gom_notify.c),
without systemd: the test binds the Unix datagram socket that systemd
would, names it in NOTIFY_SOCKET, and reads what the real programs send,
with the sender's pid from SCM_CREDENTIALS.

- The hub sends READY=1 only once it listens (its log says so and a TCP
  connection to its port succeeds at that moment); the agent once its
  outbox is open.
- With WATCHDOG_USEC (and WATCHDOG_PID = the process), WATCHDOG=1 comes
  again and again, each gap shorter than the watchdog interval and not
  much shorter than a quarter of it (the rate limit); with WATCHDOG_PID
  naming another process, none comes.
- SIGTERM brings STOPPING=1, then exit status 0.
- Every datagram comes from the daemon's own pid.
- The unit files in deploy/systemd pass `systemd-analyze verify` (skipped,
  saying so, where systemd-analyze is missing).
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import unittest

import gomtest
from gomtest import GomTestCase, HUB_BIN, AGENT_BIN, ROOT

WATCHDOG_S = 2.0

# Run inside a systemd service, the test's own variables must not reach the
# daemons that should have none.
for _name in ('NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'):
    os.environ.pop(_name, None)


class NotifySocket(object):
    """The socket systemd would listen on; collects (time, pid, fields)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.setblocking(False)
        self.got = []

    def drain(self):
        for _ in range(1000):       # bounded: at most this many per call
            try:
                data, anc, _, _ = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(struct.calcsize('iII')))
            except BlockingIOError:
                break
            pid = None
            for level, kind, payload in anc:
                if (level == socket.SOL_SOCKET
                        and kind == socket.SCM_CREDENTIALS):
                    pid = struct.unpack('iII', payload[:12])[0]
            fields = data.decode('utf-8', 'replace').split('\n')
            self.got.append((time.monotonic(), pid, fields))
        return self.got

    def times(self, field):
        return [t for t, _, f in self.drain() if field in f]

    def close(self):
        self.sock.close()


class NotifyTest(GomTestCase):

    def notify_socket(self):
        n = NotifySocket(os.path.join(self.tmp, 'notify.sock'))
        self.addCleanup(n.close)
        return n

    def start(self, node, notify, watchdog=False, watchdog_pid=None):
        """Starts node's daemon with NOTIFY_SOCKET (and the watchdog
        variables); WATCHDOG_PID is the daemon's own pid unless given."""
        env = dict(os.environ, NOTIFY_SOCKET=notify.path)
        argv = [node.binary, 'run', '--config', node.cfg]
        if watchdog:
            env['WATCHDOG_USEC'] = str(int(WATCHDOG_S * 1e6))
            if watchdog_pid is None:
                # exec keeps the shell's pid: $$ is the daemon's pid.
                argv = ['/bin/sh', '-c', 'WATCHDOG_PID=$$ exec "$0" "$@"'] \
                    + argv
            else:
                env['WATCHDOG_PID'] = str(watchdog_pid)
        node.log_file = open(node.log_path, 'ab')
        node.start_offset = node.log_file.tell()
        node.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=node.log_file,
                                     stderr=node.log_file, cwd=node.dir)
        gomtest._LIVE.add(node.proc)
        return node

    def check_pids(self, notify, pid):
        pids = set(p for _, p, _ in notify.drain())
        self.assertEqual(pids, {pid}, 'datagrams from %s, want %d'
                         % (pids, pid))

    def check_watchdog(self, notify, node):
        t0 = time.monotonic()
        pings = self.wait_for(
            lambda: len(notify.times('WATCHDOG=1')) >= 4
            and notify.times('WATCHDOG=1'), 20,
            'four WATCHDOG=1 from %s' % node.name)
        self.assertLess(time.monotonic() - t0, 4 * WATCHDOG_S + 5)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertTrue(all(g < WATCHDOG_S for g in gaps),
                        'a watchdog gap as long as WatchdogSec: %s' % gaps)
        # At most every WatchdogSec/4 (a little slack for the clock).
        self.assertTrue(all(g >= WATCHDOG_S / 4 - 0.05 for g in gaps),
                        'watchdog pings not rate-limited: %s' % gaps)

    def check_stopping(self, notify, node):
        self.assertEqual(notify.times('STOPPING=1'), [])
        node.stop()
        self.assertEqual(len(notify.times('STOPPING=1')), 1)
        ready = notify.times('READY=1')
        self.assertEqual(len(ready), 1, 'READY=1 sent %d times' % len(ready))

    def test_hub(self):
        notify = self.notify_socket()
        hub = self.new_hub()
        self.start(hub, notify, watchdog=True)
        state = {}

        def ready():
            if not notify.times('READY=1'):
                return False
            # At the moment READY=1 is seen the hub must already listen.
            state['log'] = 'listening on' in hub.log_text(True)
            try:
                with socket.create_connection(('127.0.0.1', hub.port), 2):
                    state['connect'] = True
            except OSError as e:
                state['connect'] = e
            return True
        self.wait_for(ready, 30, 'READY=1 from gom-hub')
        self.assertTrue(state['log'], 'READY=1 before "listening on"')
        self.assertIs(state['connect'], True,
                      'READY=1 before the port took connections')
        self.check_watchdog(notify, hub)
        self.check_pids(notify, hub.proc.pid)
        self.check_stopping(notify, hub)
        self.check_pids(notify, hub.proc.pid)

    def test_agent(self):
        notify = self.notify_socket()
        hub = self.new_hub()        # initialised only: the agent needs none
        agent = self.new_agent(hub, 'N01')
        self.start(agent, notify, watchdog=True)
        self.wait_for(lambda: notify.times('READY=1'), 30,
                      'READY=1 from gom-agent')
        self.assertIn('outbox ', agent.log_text(True))
        self.check_watchdog(notify, agent)
        self.check_pids(notify, agent.proc.pid)
        self.check_stopping(notify, agent)

    def test_quiet_agent(self):
        """An agent gone quiet (quiet_after_ms: gom-agent-quiet, the same
        pid) says so in STATUS=, keeps the watchdog fed, and stops as
        always on SIGTERM."""
        notify = self.notify_socket()
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, 'N01')
        agent.set('quiet_after_ms', 1000)
        self.start(agent, notify, watchdog=True)
        pid = agent.proc.pid

        def comm():
            return gomtest.proc_comm(pid)
        self.wait_for(lambda: comm() == 'gom-agent-quiet', 30,
                      'the agent to go quiet')
        # Datagrams are timed as they are read: those sent before now
        # (gom-agent's last pings among them) are read first.
        notify.drain()
        quiet_at = time.monotonic()
        self.wait_for(lambda: any(
            f.startswith('STATUS=quiet') for _, _, g in notify.drain()
            for f in g), 10, 'STATUS=quiet from gom-agent-quiet')
        pings = self.wait_for(
            lambda: len([t for t in notify.times('WATCHDOG=1')
                         if t > quiet_at]) >= 4
            and [t for t in notify.times('WATCHDOG=1') if t > quiet_at],
            20, 'four WATCHDOG=1 while quiet')
        self.assertEqual(comm(), 'gom-agent-quiet')
        # Timed as read, so each within a poll of when it was sent: no gap
        # as long as WatchdogSec, none back to back, and over the three
        # gaps the rate limit (a ping every WatchdogSec/4).
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertTrue(all(WATCHDOG_S / 8 <= g < WATCHDOG_S for g in gaps),
                        'quiet watchdog gaps: %s' % gaps)
        self.assertGreaterEqual(pings[3] - pings[0],
                                3 * WATCHDOG_S / 4 - 0.15,
                                'quiet watchdog gaps: %s' % gaps)
        self.assertEqual(notify.times('STOPPING=1'), [])
        agent.stop()
        self.assertEqual(len(notify.times('STOPPING=1')), 1)
        self.check_pids(notify, pid)

    def test_watchdog_for_another_pid_is_not_ours(self):
        notify = self.notify_socket()
        hub = self.new_hub()
        self.start(hub, notify, watchdog=True, watchdog_pid=1)
        self.wait_for(lambda: notify.times('READY=1'), 30,
                      'READY=1 from gom-hub')
        # Two watchdog intervals: a hub that pinged would have by now.
        deadline = time.monotonic() + 2 * WATCHDOG_S
        while time.monotonic() < deadline:
            self.assertEqual(notify.times('WATCHDOG=1'), [])
            time.sleep(0.2)
        hub.assert_alive()
        hub.stop()

    def test_without_notify_socket(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        self.assertNotIn('systemd', hub.log_text(True))
        hub.stop()


class UnitFileTest(unittest.TestCase):

    def test_systemd_analyze_verify(self):
        tool = shutil.which('systemd-analyze')
        if not tool:
            self.skipTest('systemd-analyze not installed: unit files not '
                          'verified (apt-get install systemd)')
        tmp = os.path.join(os.environ.get('TMPDIR', '/tmp'),
                           'gom-units-%d' % os.getpid())
        os.makedirs(tmp)
        self.addCleanup(shutil.rmtree, tmp, True)
        units = []
        for name, real in (('gom-hub.service', HUB_BIN),
                           ('gom-agent.service', AGENT_BIN)):
            with open(os.path.join(ROOT, 'deploy', 'systemd', name)) as f:
                text = f.read()
            for line in ('Type=notify', 'WatchdogSec=', 'Restart=on-failure',
                         'User=gom', 'ProtectSystem=strict',
                         'ProtectHome=yes', 'NoNewPrivileges=yes',
                         'PrivateTmp=yes', 'PrivateDevices=yes',
                         'ConfigurationDirectory=gom', 'StateDirectory='):
                self.assertIn('\n' + line, text, '%s lacks %s' % (name, line))
            # verify checks that ExecStart's program exists: point it at
            # the build's (the unit names /usr/bin, where packages put it).
            base = os.path.basename(real)
            self.assertIn('ExecStart=/usr/bin/%s run --config /etc/gom/'
                          % base, text)
            path = os.path.join(tmp, name)
            with open(path, 'w') as f:
                f.write(text.replace('/usr/bin/' + base, real))
            units.append(path)
        cp = subprocess.run([tool, 'verify'] + units, capture_output=True,
                            text=True, timeout=60)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stderr.strip(), '', cp.stderr)
        # And verify does catch a broken unit (the check can fail).
        bad = os.path.join(tmp, 'gom-bad.service')
        with open(bad, 'w') as f:
            f.write('[Service]\nType=notfy\nExecStart=%s run\n' % HUB_BIN)
        cp = subprocess.run([tool, 'verify', bad], capture_output=True,
                            text=True, timeout=60)
        self.assertIn('notfy', cp.stderr)


if __name__ == '__main__':
    gomtest.main()

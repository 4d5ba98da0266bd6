"""An agent that hangs up while it has nothing to send (quiet_after_ms,
docs/cli.md): `gom-agent run` becomes gom-agent-quiet, the same process,
which holds no ZeroMQ, czmq or sqlite and no connection, and becomes
gom-agent again when a report comes (`gom-agent submit`, or a file in the
spool folder), when its check-in is due, or on a signal.

Checked with a real hub and agent:
- the agent goes quiet after the delay, and stays so: its /proc/PID/comm
  is gom-agent-quiet and its maps hold none of libzmq, libczmq,
  libsqlite3;
  `gom-agent status` says it runs (the same pid, the same start time) and
  is quiet, with the next check-in, in JSON and in text;
- a report submitted while quiet wakes it and is acknowledged, and so is a
  file dropped in its spool folder (written under a hidden name, which does
  not wake it, then renamed); after each it goes quiet again;
- its check-in says hello to the hub (the hub's last_seen moves on) and
  goes quiet again;
- SIGTERM while quiet: it stops within the usual time, exit status 0,
  and status says it stopped;
- without gom-agent-quiet (GOM_AGENT_QUIET pointing at nothing) it says so
  and stays connected, idle (its CPU time barely moves); so does an agent
  with a workbook left in its spool folder for later (no Excel helper),
  which status keeps showing connected.

Checked to fail: with the outbox's watch left out of the descriptor the
agent hands over (the submitted report then waits for the check-in, and
the wait for its acknowledgement times out).
"""
import os
import signal
import time

import gomtest

QUIET_LIBS = ('libzmq', 'libczmq', 'libsqlite3')


def maps(pid):
    with open('/proc/%d/maps' % pid) as f:
        return f.read()


def cpu_s(pid):
    """User + system CPU seconds of the process."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Quiet(gomtest.GomTestCase):

    def running_hub(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        return hub

    def quiet_agent(self, hub, check_in_ms=600000):
        agent = self.new_agent(hub, ['U1'])
        agent.set('quiet_after_ms', 1000)
        agent.set('check_in_ms', check_in_ms)
        return agent

    def wait_quiet(self, agent, pid):
        self.wait_for(lambda: gomtest.proc_comm(pid) == 'gom-agent-quiet',
                      20,
                      'the agent to become gom-agent-quiet')

    def acked(self, agent):
        return agent.status().get('acked', 0)

    def test_quiet_and_woken(self):
        hub = self.running_hub()
        agent = self.quiet_agent(hub)
        agent.start()
        pid = agent.proc.pid
        agent.wait_log('hub welcomed us')
        started = agent.status()['running_since_at']
        self.wait_quiet(agent, pid)
        agent.wait_log('quiet: nothing to send')
        # It stays quiet: nothing of its own wakes it (three times the
        # delay).
        woken = agent.log_count('woken by')
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertEqual(gomtest.proc_comm(pid), 'gom-agent-quiet')
            time.sleep(0.2)
        self.assertEqual(agent.log_count('woken by'), woken)
        loaded = [lib for lib in QUIET_LIBS if lib in maps(pid)]
        self.assertEqual(loaded, [], 'quiet, it still maps %s' % loaded)
        st = agent.status()
        self.assertTrue(st['running'])
        self.assertEqual(st['pid'], pid)
        self.assertEqual(st['running_since_at'], started)
        self.assertFalse(st['connected'])
        self.assertIsNotNone(st['quiet_since_at'])
        self.assertIsNotNone(st['check_in_at'])
        self.assertGreater(st['check_in_at'], st['quiet_since_at'])
        text = gomtest.run_cli([gomtest.AGENT_BIN, 'status', '--config',
                                agent.cfg]).stdout
        self.assertIn('running: yes, pid %d' % pid, text)
        self.assertIn('hub: quiet since', text)

        # A report submitted while quiet wakes it; then quiet again.
        agent.submit_ok(self.report('U1', revision=1))
        self.wait_for(lambda: self.acked(agent) == 1, 20,
                      'the submitted report acknowledged')
        agent.wait_log('woken by a write to the outbox')
        self.wait_quiet(agent, pid)
        self.assertEqual(agent.proc.pid, pid)
        agent.assert_alive()

        # A file dropped in the spool folder wakes it too.
        path = self.report('U1', revision=2)
        with open(path, 'rb') as f:
            gomtest.write_file_atomic(
                os.path.join(agent.spool, os.path.basename(path)), f.read())
        self.wait_for(lambda: self.acked(agent) == 2, 20,
                      'the spool folder\'s report acknowledged')
        agent.wait_log('woken by %s in the spool folder'
                       % os.path.basename(path))
        self.wait_quiet(agent, pid)
        self.assertEqual(agent.status()['running_since_at'], started)

        # SIGTERM while quiet: it stops as it always does.
        rc, took = agent.signal_and_wait(signal.SIGTERM)
        self.assertEqual(rc, 0)
        self.assertLess(took, 10)
        st = agent.status()
        self.assertFalse(st['running'])
        self.assertIsNotNone(st['stopped_at'])
        self.assertIsNone(st['quiet_since_at'])
        self.assertEqual(len(hub.reports()), 2)

    def test_check_in(self):
        hub = self.running_hub()
        agent = self.quiet_agent(hub, check_in_ms=1500)
        agent.start()
        pid = agent.proc.pid
        self.wait_quiet(agent, pid)

        def seen():
            rows = [a for a in hub.agents() if a.get('key') == agent.key]
            return rows[0].get('last_seen_at') if rows else None
        first = seen()
        self.assertIsNotNone(first)
        # Two check-ins later, the hub has seen it again, and it is quiet.
        self.wait_for(lambda: agent.log_count('woken by the check-in') >= 2,
                      30, 'two check-ins')
        self.wait_for(lambda: seen() and seen() > first, 20,
                      'the hub seeing the check-in\'s hello')
        self.wait_quiet(agent, pid)
        agent.stop()

    def assert_stays_connected(self, agent):
        """Idle three times quiet_after_ms: still gom-agent, connected, and
        not spinning."""
        pid = agent.proc.pid
        cpu = cpu_s(pid)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertEqual(gomtest.proc_comm(pid), 'gom-agent')
            time.sleep(0.2)
        self.assertLess(cpu_s(pid) - cpu, 0.5, 'the agent spins')
        st = agent.status()
        self.assertTrue(st['connected'])
        self.assertIsNone(st['quiet_since_at'])

    def test_without_the_quiet_program(self):
        hub = self.running_hub()
        agent = self.quiet_agent(hub)
        gomtest.start_with_fault(
            agent, os.path.join(self.tmp, 'no-such-gom-agent-quiet'),
            var='GOM_AGENT_QUIET')
        agent.wait_log('staying connected')
        agent.wait_log('hub welcomed us')
        self.assert_stays_connected(agent)
        agent.stop()

    def test_not_quiet_with_a_file_waiting(self):
        hub = self.running_hub()
        agent = self.quiet_agent(hub)
        os.makedirs(agent.spool, exist_ok=True)
        with open(os.path.join(agent.spool, 'late.xlsx'), 'wb') as f:
            f.write(b'PK not really a workbook')
        gomtest.start_with_fault(agent, os.path.join(self.tmp, 'no-helper'),
                                 var='GOM_AGENT_XLSX')
        agent.wait_log('hub welcomed us')
        agent.wait_log('Excel helper')
        self.assert_stays_connected(agent)
        self.assertEqual(agent.status()['spool_waiting'], 1)
        agent.stop()


if __name__ == '__main__':
    gomtest.main()

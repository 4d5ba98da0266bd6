"""Crashes at the narrow moments, crashes mid-write, and a full disk
(DESIGN.md rules 2, 3, 4 and 6; issue 7, "Crashes and disks").

Crash points (common/gom_fault.h): a daemon started with GOM_FAULT=NAME[:N]
kills itself with SIGKILL at the Nth pass through the named point, so the
kill lands exactly where random kill -9 rarely does:
- `hub-after-commit`: the hub's batch is committed, and not one of its
  answers has left. At the kill: the triggering report is on the hub's disk
  and the agent holds no ACK for it. After a restart (without GOM_FAULT)
  the agent's resend is answered `duplicate` (the hub's `duplicates`
  counter grows by at least the number of committed-but-unanswered
  reports) with the receipt the hub had given before the crash.
- `agent-before-ack-record`: the agent has decoded an ACK and not recorded
  it. At the kill: nothing is lost from the outbox, and nothing is marked
  acked that the hub does not hold. The restarted agent resends, the hub
  answers `duplicate` for each report it held at the kill, with the same
  receipt.
Each ends with the ground truth: every report submitted is stored exactly
once at the hub (one report_id, one receipt each; count = submitted), and
every agent lists all its reports as acked with the hub's receipt.

Mid-write: eight agents push large reports (600 cells) while the hub is
killed with SIGKILL again and again (at most 8 kills in 60 s), each time
once it stores again: every other kill at a random moment, the others the
instant the hub writes a page's worth of bytes (its wchar in /proc), that
is, inside a commit. After every kill, copies of hub.db and keys.db (with
their WALs, which the copy recovers) pass `PRAGMA integrity_check`, and
every report an agent holds as acknowledged is at the hub with the same
receipt. The WAL left by each kill is parsed (frames and checksums as in
sqlite's wal.c): at least one kill must have left frames of an unfinished
transaction behind, i.e. landed in the middle of a write. Random kills
do that by chance only (small transactions are written in microseconds),
so the first kill is certain: the hub starts with GOM_FAULT_IO=tear:N
(common/gom_fault.h), writes half of its Nth write to a WAL (N random,
2 to 40: its first commits; the checkpointer's writes to the database
files are not counted) and kills itself; that kill must leave an
unfinished transaction or a torn frame in hub.db's or keys.db's WAL.

Full disk: an agent's folder on a small tmpfs. `submit` refuses once the
disk is nearly full, naming the problem (no space) and the outbox file,
with exit status 1, and nothing queued before is lost; with the disk then
filled to the last byte by another file, the running agent cannot record
the hub's answers: it must not crash nor spin (it pauses, with backoff),
and once space is freed everything is delivered exactly once, and submit
takes reports again. Needs root (mount).
"""

import atexit
import os
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import time

import gomtest
from gomtest import GomTestCase, many_cells, start_with_fault


def wait_dead(case, node, timeout=30):
    """Waits for node's daemon to die by itself; reaps it and checks it was
    its own crash point (SIGKILL, and the crash point's log line)."""
    case.wait_for(lambda: not node.alive(), timeout,
                  '%s to die at its crash point' % node.name)
    rc = node.kill9()
    case.assertEqual(rc, -9, '%s ended with status %r, not SIGKILL\n%s'
                     % (node.name, rc, gomtest.tail(node.log_path)))
    case.assertIn('GOM_FAULT: crash point', node.log_text(since_start=True))


def integrity(path):
    """PRAGMA integrity_check of a copy of the database path and its WAL
    (the copy runs the WAL recovery; the original is left to the hub)."""
    scratch = path + '.check'
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        copy = os.path.join(scratch, os.path.basename(path))
        shutil.copyfile(path, copy)
        if os.path.exists(path + '-wal'):
            shutil.copyfile(path + '-wal', copy + '-wal')
        db = sqlite3.connect(copy)
        try:
            return [r[0] for r in db.execute('PRAGMA integrity_check')]
        finally:
            db.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def wal_tail(path):
    """(valid frames after the last commit, bytes after the last valid
    frame) of a WAL file: a kill inside a transaction's write leaves frames
    that recovery discards. Checksums as in sqlite's wal.c."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return (0, 0)
    if len(data) < 32:
        return (0, len(data))
    magic, _, page, _, salt1, salt2, c1, c2 = struct.unpack('>8I', data[:32])
    if magic not in (0x377f0682, 0x377f0683):
        return (0, len(data))
    fmt = '<' if magic == 0x377f0682 else '>'

    def cksum(buf, s1, s2):
        words = struct.unpack(fmt + '%dI' % (len(buf) // 4), buf)
        for i in range(0, len(words), 2):
            s1 = (s1 + words[i] + s2) & 0xffffffff
            s2 = (s2 + words[i + 1] + s1) & 0xffffffff
        return s1, s2
    s1, s2 = cksum(data[:24], 0, 0)
    if (s1, s2) != (c1, c2):
        return (0, len(data))
    off, frames, last_commit, end = 32, 0, 0, 32
    while off + 24 + page <= len(data):
        pgno, commit, fs1, fs2, fc1, fc2 = struct.unpack(
            '>6I', data[off:off + 24])
        if (fs1, fs2) != (salt1, salt2):
            break
        s1, s2 = cksum(data[off:off + 8], s1, s2)
        s1, s2 = cksum(data[off + 24:off + 24 + page], s1, s2)
        if (s1, s2) != (fc1, fc2):
            break
        frames += 1
        off += 24 + page
        end = off
        if commit:
            last_commit = frames
    return (frames - last_commit, len(data) - end)


def submit_many(case, agent, unit, n, cells=None, prefix='P'):
    """Submits n reports for unit in one command; their report_ids."""
    fdir = os.path.join(case.tmp, 'files', agent.name)
    files = [case.report(unit, form='%s%03d' % (prefix, i),
                         cells=cells(i) if cells else None,
                         texts={'T01': 'Báo cáo số %d' % i}, dir=fdir)
             for i in range(n)]
    ids = agent.submit_ok(*files)
    case.assertEqual(len(set(ids.values())), n)
    return set(ids.values())


class CrashPointsTest(GomTestCase):

    N = 40

    def _finish(self, hub, agent, ids, before):
        """Ground truth at the end: all acked, each stored once, and the
        reports the hub held at the crash kept their receipts."""
        rows = self.wait_all_acked(agent, len(ids), timeout=60)
        self.assertEqual({r['report_id'] for r in rows}, ids)
        stored = self.assert_hub_whole(hub, [agent], expect_total=len(ids))
        self.assertEqual(len({r['receipt'] for r in stored}), len(ids))
        mine = {r['report_id']: r for r in rows}
        for rid, receipt in before.items():
            self.assertEqual(mine[rid]['receipt'], receipt,
                             'report %s: receipt changed across the crash'
                             % rid)
            self.assertGreaterEqual(mine[rid]['attempts'], 1)
        self.assertEqual(hub.status()['reports'], len(ids))

    def _hub_after_commit(self, spec, window):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'P01')
        agent.set('window', window)
        ids = submit_many(self, agent, 'P01', self.N)
        start_with_fault(hub, spec)
        hub.wait_listening()
        agent.start()
        wait_dead(self, hub)

        # At the kill: the batch is on disk, its answers never left.
        stored = {r['report_id']: r['receipt'] for r in hub.reports()}
        self.assertTrue(stored, 'the hub died with nothing committed: the '
                        'crash point is not after the commit')
        self.assertLessEqual(set(stored), ids)
        acked = {r['report_id']: r['receipt'] for r in agent.list()
                 if r['state'] == 'acked'}
        for rid, receipt in acked.items():
            self.assertEqual(stored.get(rid), receipt)
        unanswered = set(stored) - set(acked)
        self.assertTrue(unanswered, 'every committed report was answered: '
                        'the kill was not between commit and ACK')
        agent.assert_alive()
        sys.stderr.write('[%s: %d committed at the kill, %d of them '
                         'answered] ' % (spec, len(stored), len(acked)))

        dups0 = hub.status()['duplicates']
        hub.start()
        hub.wait_listening()
        self._finish(hub, agent, ids, stored)
        dups = hub.status()['duplicates'] - dups0
        self.assertGreaterEqual(
            dups, len(unanswered), 'the hub answered fewer duplicates (%d) '
            'than it had committed without answering (%d)'
            % (dups, len(unanswered)))
        agent.stop()
        hub.stop()

    def test_hub_killed_after_first_commit(self):
        self._hub_after_commit('hub-after-commit', 64)

    def test_hub_killed_after_later_commit(self):
        # A small window: earlier batches are answered before the kill.
        self._hub_after_commit('hub-after-commit:25', 8)

    def _agent_before_record(self, spec, window):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, 'P02')
        agent.set('window', window)
        ids = submit_many(self, agent, 'P02', self.N)
        start_with_fault(agent, spec)
        wait_dead(self, agent)

        # At the kill: nothing lost, nothing acked that the hub lacks.
        rows = agent.list()
        self.assertEqual({r['report_id'] for r in rows}, ids,
                         'the outbox lost reports')
        dups0 = hub.status()['duplicates']
        stored = {r['report_id']: r['receipt'] for r in hub.reports()}
        self.assertTrue(stored)
        acked = {r['report_id']: r['receipt'] for r in rows
                 if r['state'] == 'acked'}
        for rid, receipt in acked.items():
            self.assertEqual(stored.get(rid), receipt)
        unrecorded = set(stored) - set(acked)
        self.assertTrue(unrecorded)
        hub.assert_alive()
        sys.stderr.write('[%s: hub held %d at the kill, agent had recorded '
                         '%d] ' % (spec, len(stored), len(acked)))

        agent.start()
        self._finish(hub, agent, ids, stored)
        dups = hub.status()['duplicates'] - dups0
        self.assertGreaterEqual(
            dups, len(unrecorded), 'the hub answered fewer duplicates (%d) '
            'than the agent had answers unrecorded (%d)'
            % (dups, len(unrecorded)))
        agent.stop()
        hub.stop()

    def test_agent_killed_after_first_ack(self):
        self._agent_before_record('agent-before-ack-record', 64)

    def test_agent_killed_after_later_ack(self):
        self._agent_before_record('agent-before-ack-record:25', 8)


class MidWriteTest(GomTestCase):
    """kill -9 of the hub, again and again, while eight agents push large
    reports."""

    AGENTS = 8
    PER_AGENT = int(os.environ.get('GOM_MIDWRITE_N', '120'))
    CELLS = 600
    KILLS = 8
    KILL_PHASE_S = 60

    def _check_after_kill(self, hub, agents):
        for name in ('hub.db', 'keys.db'):
            result = integrity(os.path.join(hub.dir, name))
            self.assertEqual(result, ['ok'], '%s after kill -9: %s'
                             % (name, result[:10]))
        stored = {r['report_id']: r['receipt'] for r in hub.reports()}
        for a in agents:
            for r in a.list():
                if r['state'] != 'acked':
                    continue
                self.assertIn(r['report_id'], stored,
                              '%s holds an ACK (receipt %s) for %s, which '
                              'the hub does not have after kill -9'
                              % (a.name, r['receipt'], r['report_id']))
                self.assertEqual(r['receipt'], stored[r['report_id']])
        return len(stored)

    def _wait_page_write(self, hub, all_stored, timeout=40):
        """Returns True as soon as the hub has written a database page's
        worth of bytes since the last look (its wchar in /proc, polled as
        fast as it goes): it is then inside a commit (or a cache spill).
        False once all_stored() (asked every half second): the hub may
        have taken the last reports while this waited, and then has
        nothing left to write."""
        io = '/proc/%d/io' % hub.proc.pid

        def wchar():
            with open(io) as f:
                for line in f:
                    if line.startswith('wchar:'):
                        return int(line.split()[1])
            return 0
        deadline = time.monotonic() + timeout
        ask = time.monotonic() + 0.5
        try:
            last = wchar()
            while time.monotonic() < deadline:
                now = wchar()
                if now - last >= 4096:
                    return True
                last = now
                if time.monotonic() >= ask:
                    if all_stored():
                        return False
                    ask = time.monotonic() + 0.5
                time.sleep(0.0002)
        except OSError:
            hub.assert_alive()
            raise
        self.fail('the hub wrote no page in %d s\n%s'
                  % (timeout, gomtest.tail(hub.log_path)))

    def test_kill9_hub_during_large_writes(self):
        hub = self.new_hub()
        agents = []
        ids = {}
        t0 = time.monotonic()
        for n in range(self.AGENTS):
            unit = 'W%02d' % n
            a = self.new_agent(hub, unit, name='agent%d' % n)
            # One report in flight per agent: the hub's first second must
            # not take the whole backlog before the first kill (with the
            # default window of 64 it took 280 of 320 once; with 2, since
            # cells are no longer a row each, 210 of 480 and the backlog
            # was gone at the third kill).
            a.set('window', '1')
            agents.append(a)
            ids[a.name] = submit_many(
                self, a, unit, self.PER_AGENT,
                cells=lambda i: many_cells(i, self.CELLS), prefix='W')
        total = self.AGENTS * self.PER_AGENT
        rng = random.Random(os.environ.get('GOM_SEED'))
        # The first kill, inside a write for certain: half of the hub's
        # Nth database write, then SIGKILL.
        nth = rng.randint(2, 40)
        start_with_fault(hub, 'tear:%d' % nth, var='GOM_FAULT_IO')
        hub.wait_listening()
        for a in agents:
            a.start()
        wait_dead(self, hub)
        tails = [wal_tail(os.path.join(hub.dir, name + '-wal'))
                 for name in ('hub.db', 'keys.db')]
        self.assertTrue(any(f or t for f, t in tails),
                        'write %d torn by GOM_FAULT_IO left no unfinished '
                        'transaction in a WAL (frames, bytes: %s)'
                        % (nth, tails))
        frames, torn = max(tails, key=sum)
        kills = [(self._check_after_kill(hub, agents), frames, torn)]
        sys.stderr.write('[write %d torn: WALs (frames, bytes) %s] '
                         % (nth, tails))
        hub.start()
        hub.wait_listening()

        sys.stderr.write('[submit %.1f s] ' % (time.monotonic() - t0))
        t0 = time.monotonic()
        deadline = time.monotonic() + self.KILL_PHASE_S
        # kills: (stored at the kill, wal frames, torn)
        while len(kills) < self.KILLS + 1 and time.monotonic() < deadline:
            base = hub.status()['reports']
            if base >= total:
                break
            # Once the hub is storing again...
            gomtest.wait_for(lambda: hub.status()['reports'] > base, 40,
                             'hub to store more than %d reports' % base,
                             logs=self.nodes, interval=0.05)
            if len(kills) % 2:
                # ... at a random moment,
                time.sleep(rng.uniform(0, 0.4))
            else:
                # ... or the instant it writes a page (a large commit
                # takes thousands of writes: land among them).
                if not self._wait_page_write(
                        hub, lambda: hub.status()['reports'] >= total):
                    break
            hub.kill9()
            frames, torn = wal_tail(os.path.join(hub.dir, 'hub.db-wal'))
            n = self._check_after_kill(hub, agents)
            kills.append((n, frames, torn))
            for a in agents:
                a.assert_alive()
            hub.start()
            hub.wait_listening()
        mid = [k for k in kills if k[0] < total]
        inside = [k for k in kills if k[1] or k[2]]
        sys.stderr.write('[%d kills; stored at each: %s of %d; %d left an '
                         'unfinished transaction in the WAL (frames, bytes: '
                         '%s)] ' % (len(kills), [k[0] for k in kills], total,
                                    len(inside),
                                    [(k[1], k[2]) for k in inside]))
        self.assertGreaterEqual(len(mid), 3, 'fewer than three kills landed '
                                'while reports were flowing: the test '
                                'proved little')
        self.assertGreaterEqual(len(inside), 1, 'no kill landed inside a '
                                'transaction being written')

        sys.stderr.write('[kills %.1f s] ' % (time.monotonic() - t0))
        t0 = time.monotonic()
        for a in agents:
            rows = self.wait_all_acked(a, self.PER_AGENT, timeout=90)
            self.assertEqual({r['report_id'] for r in rows}, ids[a.name])
        self.assert_hub_whole(hub, agents, expect_total=total)
        sys.stderr.write('[drain %.1f s] ' % (time.monotonic() - t0))
        for a in agents:
            a.stop()
        hub.stop()
        for name in ('hub.db', 'keys.db'):
            self.assertEqual(integrity(os.path.join(hub.dir, name)), ['ok'])


# --------------------------------------------------------------- full disk

_MOUNTS = []


@atexit.register
def _umount_leftovers():
    for path in list(_MOUNTS):
        subprocess.run(['umount', '-l', path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    _MOUNTS.clear()


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0750' % size,
                    'tmpfs', path], check=True)
    _MOUNTS.append(path)


def umount(path):
    if path not in _MOUNTS:
        return
    if subprocess.run(['umount', path], stderr=subprocess.DEVNULL).returncode:
        subprocess.run(['umount', '-l', path], check=False)
    _MOUNTS.remove(path)


def fill_up(path):
    """Writes a file at path until the disk refuses; returns its size."""
    size = 0
    chunk = b'\0' * 65536
    with open(path, 'wb', buffering=0) as f:
        while True:
            try:
                size += f.write(chunk)
            except OSError as e:
                if e.errno != 28:   # ENOSPC
                    raise
                break
        # Then byte by byte what is left of a partly used block.
        for _ in range(65536):
            try:
                size += f.write(b'\0')
            except OSError:
                break
    return size


NO_SPACE = re.compile(r'^gom-agent: (\S+): not queued: no space left on the '
                      r'disk of the outbox (\S+) ', re.M)


class DiskFullTest(GomTestCase):

    CELLS = 2000
    CHUNK = 20
    MAX_FILES = 1000

    def test_agent_disk_fills_up(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to mount a tmpfs')
        hub = self.new_hub()
        adir = os.path.join(self.tmp, 'agent')
        mount_tmpfs(adir, '24m')
        self.addCleanup(umount, adir)
        agent = self.new_agent(hub, 'F01')
        # The log stays off the small disk, to be read when it is full.
        agent.log_path = os.path.join(self.tmp, 'agent.log')
        outbox = os.path.join(adir, 'outbox.db')

        # 1. Queue reports until submit refuses.
        fdir = os.path.join(self.tmp, 'files')
        queued = {}
        refused = None
        for start in range(0, self.MAX_FILES, self.CHUNK):
            files = [self.report('F01', form='F%04d' % i,
                                 cells=many_cells(i, self.CELLS), dir=fdir)
                     for i in range(start, start + self.CHUNK)]
            cp = agent.submit(*files)
            got = gomtest.parse_submit(cp.stdout)
            queued.update({f: v[1] for f, v in got.items()})
            if cp.returncode != 0:
                refused = (cp, [f for f in files if f not in got])
                break
        self.assertIsNotNone(refused, 'submit never refused: the disk did '
                             'not fill up')
        cp, rest = refused
        self.assertEqual(cp.returncode, 1)
        self.assertTrue(rest)
        said = dict(NO_SPACE.findall(cp.stderr))
        self.assertEqual(set(said), set(rest), 'each refused file needs a '
                         'no-space line naming the outbox:\n%s'
                         % cp.stderr[-3000:])
        self.assertEqual(set(said.values()), {outbox})
        self.assertGreaterEqual(len(queued), self.CHUNK)
        rows = agent.list()
        self.assertEqual({r['report_id'] for r in rows}, set(queued.values()),
                         'the outbox is not what submit said it queued')
        sys.stderr.write('[%d queued before the refusal] ' % len(queued))

        # 2. Something else takes the last byte. With no process holding
        # the outbox open, sqlite cannot even make its -shm file there:
        # submit says so, naming the file and the system's reason.
        ballast = os.path.join(adir, 'ballast')
        fill_up(ballast)
        extra = self.report('F01', form='X0001', dir=fdir)
        cp = agent.submit(extra)
        self.assertEqual(cp.returncode, 1)
        self.assertRegex(cp.stderr, r'^gom-agent: cannot open the outbox: '
                         + re.escape(outbox) + r': .*\(No space left on '
                         r'device\); nothing queued$')
        os.unlink(ballast)

        # The agent runs (and holds the outbox open) when the disk fills.
        agent.start()
        agent.wait_log('outbox %s' % outbox)
        fill_up(ballast)
        cp = agent.submit(extra)
        self.assertEqual(cp.returncode, 1)
        self.assertEqual(dict(NO_SPACE.findall(cp.stderr)), {extra: outbox},
                         cp.stderr)
        self.assertEqual({r['report_id'] for r in agent.list()},
                         set(queued.values()))

        # 3. The hub comes up. The sender cannot record its answers on a
        # full disk: it must neither crash nor spin.
        hub.start()
        hub.wait_listening()
        pause = 'cannot record; sending paused'
        self.wait_for(lambda: agent.log_count(pause) >= 3, 30,
                      'the agent to pause sending three times')
        self.wait_for(lambda: hub.status()['reports'] > 0, 30,
                      'the hub to store what the agent sends with its disk '
                      'full')
        dups = hub.status()['duplicates']
        pauses = agent.log_count(pause)
        agent.assert_alive()
        window = 64
        self.assertLessEqual(
            dups, window * (pauses + 2), 'the agent resent %d times over %d '
            'pauses: it spins on a full disk' % (dups, pauses))
        sys.stderr.write('[disk full: %d pauses, %d duplicates at the hub] '
                         % (pauses, dups))

        # 4. Space comes back: everything is delivered, exactly once.
        os.unlink(ballast)
        self.wait_all_acked(agent, len(queued), timeout=60)
        self.assert_hub_whole(hub, [agent], expect_total=len(queued))

        # 5. A bigger disk: submit takes reports again, and they go.
        subprocess.run(['mount', '-o', 'remount,size=64m', adir], check=True)
        more = self.report('F01', form='X0002', dir=fdir)
        agent.submit_ok(more)
        self.wait_all_acked(agent, len(queued) + 1, timeout=60)
        self.assert_hub_whole(hub, [agent], expect_total=len(queued) + 1)
        agent.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()

"""Agents are the hub's backup (DESIGN.md rule 11).

After every report is acknowledged, the hub is stopped and its database is
replaced with an empty one (the hub's keypair and config stay), the agents'
keys are enrolled again and the hub restarted. Proves that the hub reports a
new database id, the agents see it (welcome) and resend their retained
reports without being restarted, and the hub ends up whole again: the same
set of report_ids with the same contents, each stored once.
"""

import os
import shutil

import gomtest
from gomtest import GomTestCase, run_cli, HUB_BIN

PER_AGENT = 20
SAME = ('report_id', 'unit', 'form', 'period', 'revision', 'cells', 'texts',
        'sealed_ms', 'agent_key')


class RestoreTest(GomTestCase):

    def test_empty_database_is_refilled_by_agents(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        agents = [self.new_agent(hub, 'R01', name='agent1'),
                  self.new_agent(hub, 'R02,R03', name='agent2')]
        files = {agents[0]: [self.report('R01', form='F%02d' % i,
                                         texts={'T01': 'Tổng số nữ %d' % i})
                             for i in range(PER_AGENT)],
                 agents[1]: [self.report('R02' if i % 2 else 'R03',
                                         form='F%02d' % i,
                                         cells={'C01': i, 'C02': None})
                             for i in range(PER_AGENT)]}
        for a in agents:
            a.submit_ok(*files[a])
            a.start()
        for a in agents:
            self.wait_all_acked(a, PER_AGENT, timeout=30)
        before = self.assert_hub_whole(hub, agents,
                                       expect_total=2 * PER_AGENT)
        old_db_id = hub.status()['db_id']
        self.assertTrue(old_db_id)
        for a in agents:
            self.assertEqual(a.status()['hub_db_id'], old_db_id)

        # Replace only the database with a fresh, empty one.
        hub.stop()
        db = hub.db_path()
        self.assertTrue(os.path.exists(db), db)
        os.rename(db, db + '.lost')
        for suffix in ('-wal', '-shm'):
            if os.path.exists(db + suffix):
                os.rename(db + suffix, db + '.lost' + suffix)
        scratch = os.path.join(self.tmp, 'scratch')
        run_cli([HUB_BIN, 'init', '--dir', scratch, '--endpoint',
                 'tcp://127.0.0.1:%d' % gomtest.free_port()],
                what='gom-hub init (scratch)')
        shutil.copyfile(os.path.join(scratch, 'hub.db'), db)
        for suffix in ('-wal', '-shm'):
            if os.path.exists(os.path.join(scratch, 'hub.db' + suffix)):
                shutil.copyfile(os.path.join(scratch, 'hub.db' + suffix),
                                db + suffix)
        self.assertEqual(hub.reports(), [])
        new_db_id = hub.status()['db_id']
        self.assertTrue(new_db_id)
        self.assertNotEqual(new_db_id, old_db_id)
        for a in agents:
            hub.enroll(a.key, a.get('units'))

        hub.start()
        hub.wait_listening()
        want = {r['report_id']: r for r in before}

        def whole():
            rows = hub.reports()
            return len(rows) >= len(want) and rows
        self.wait_for(whole, 60, 'the agents to refill the hub with %d '
                      'reports' % len(want))
        for a in agents:
            self.wait_for(lambda: a.status()['hub_db_id'] == new_db_id, 20,
                          '%s to see hub db id %s' % (a.name, new_db_id))
            a.assert_alive()

        after = hub.reports()
        ids = [r['report_id'] for r in after]
        self.assertEqual(len(ids), len(set(ids)), 'a report stored twice')
        self.assertEqual(set(ids), set(want))
        for r in after:
            old = want[r['report_id']]
            for field in SAME:
                self.assertEqual(r[field], old[field],
                                 '%s differs for %s' % (field,
                                                        r['report_id']))
        self.assertEqual(hub.status()['reports'], 2 * PER_AGENT)
        for a in agents:
            for r in a.list():
                self.assertEqual(r['state'], 'acked', r)
        for a in agents:
            a.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()

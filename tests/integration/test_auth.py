"""Authorization: enrolled keys and the units bound to them.

Proves that:
- a report for a unit the agent is configured for but its key is not
  enrolled for is rejected with code `unauthorized`; nothing is stored for
  that unit, and the reports for the enrolled unit are stored;
- a key that was never enrolled is refused at the handshake (`zap: denied`
  in the hub log) and nothing of it is stored; enrolling it while hub and
  agent keep running gets its report acknowledged without a restart (the
  agent rebuilds its socket after an authentication failure);
- after `gom-hub revoke`, the key's new reports are not stored, while its
  earlier reports stay on record; they are not rejected either (a
  transient NACK `revoked`, or the handshake refused): they wait at the
  agent, and enrolling the key again lets them through with nobody
  resubmitting anything.
"""

import gomtest
from gomtest import GomTestCase


class AuthTest(GomTestCase):

    def test_unit_not_enrolled_is_unauthorized(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, 'A01,B01', enroll_units='A01')
        fa = [self.report('A01', form='F%d' % i) for i in range(3)]
        fb = [self.report('B01', form='F%d' % i) for i in range(2)]
        # Interleave so that B's rejections sit among A's reports.
        ids = agent.submit_ok(fa[0], fb[0], fa[1], fb[1], fa[2])
        agent.start()

        def settled():
            rows = agent.by_id()
            ok = all(rows[ids[f]]['state'] == 'acked' for f in fa)
            no = all(rows[ids[f]]['state'] == 'rejected' for f in fb)
            return ok and no and rows
        rows = self.wait_for(settled, 30, "A01's reports acked and B01's "
                             "rejected")
        for f in fb:
            r = rows[ids[f]]
            self.assertEqual(r['code'], 'unauthorized', r)
            self.assertTrue(r['reason'], r)
            self.assertIsNone(r['receipt'], r)
        stored = hub.reports()
        self.assertEqual(sorted(r['report_id'] for r in stored),
                         sorted(ids[f] for f in fa))
        self.assertFalse([r for r in stored if r['unit'] == 'B01'])
        st = agent.status()
        self.assertEqual((st['acked'], st['rejected']), (3, 2), st)
        agent.stop()
        hub.stop()

    def test_unenrolled_key_then_enrolled_while_running(self):
        hub = self.new_hub()
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, 'A01', enroll=False)
        f = self.report('A01')
        rid = agent.submit_ok(f)[f]
        agent.start()
        hub.wait_log('zap: denied', timeout=20)
        denied = [ln for ln in hub.log_text().splitlines()
                  if 'zap: denied' in ln]
        self.assertTrue(any(agent.key in ln for ln in denied),
                        'zap: denied lines do not name the key %s: %r'
                        % (agent.key, denied))
        self.assertEqual(hub.reports(), [])
        self.assertEqual(hub.status()['reports'], 0)
        r = agent.by_id()[rid]
        self.assertIn(r['state'], ('queued', 'sent'), r)
        agent.assert_alive()
        hub.assert_alive()

        hub.enroll(agent.key, 'A01')
        self.wait_all_acked(agent, 1, timeout=30)
        self.assert_hub_whole(hub, [agent], expect_total=1)
        agent.stop()
        hub.stop()

    def test_revoke(self):
        hub = self.new_hub()
        hub.set('revoked_retry_ms', '1000')
        hub.start()
        hub.wait_listening()
        agent = self.new_agent(hub, 'A01')
        agent.start()
        f1 = self.report('A01', form='F1')
        rid1 = agent.submit_ok(f1)[f1]
        self.wait_all_acked(agent, 1, timeout=30)

        denied_before = hub.log_count('zap: denied')
        hub.revoke(agent.key)
        f2 = self.report('A01', form='F2')
        rid2 = agent.submit_ok(f2)[f2]

        # Evidence that the hub has refused the report (a NACK on the open
        # connection) or the key (a refused handshake), or that the agent
        # tried at least twice: any of them, then nothing may be stored.
        def refused():
            r = agent.by_id()[rid2]
            if r['state'] in ('acked', 'rejected'):
                return r['state']
            if hub.log_count('zap: denied') > denied_before:
                return 'denied'
            if hub.log_count('from revoked key') > 0:
                return 'held back'
            return None
        how = self.wait_for(refused, 30, 'the revoked key to be refused')
        self.assertIn(how, ('denied', 'held back'))
        # Tried again (every second here) and still refused.
        self.wait_for(lambda: (agent.by_id()[rid2].get('attempts') or 0) >= 3
                      or hub.log_count('zap: denied') > denied_before + 1,
                      30, 'the agent to try again')
        stored = {r['report_id']: r for r in hub.reports()}
        self.assertFalse(rid2 in stored, 'revoked key stored a report (%s)'
                         % how)
        self.assertTrue(rid1 in stored, 'revocation lost an earlier report')
        r = agent.by_id()[rid2]
        self.assertIn(r['state'], ('queued', 'sent'), r)
        keys = {a['key']: a for a in hub.agents()}
        self.assertIsNotNone(keys[agent.key]['revoked_at'])
        # Enrolled again: what waited goes through by itself.
        hub.enroll(agent.key, 'A01')
        self.wait_all_acked(agent, 2, timeout=60)
        self.assertIn(rid2, {r['report_id'] for r in hub.reports()})
        agent.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()

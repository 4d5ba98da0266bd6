"""Rule 6 on a live connection (DESIGN.md; agent/agent_sender.c,
s_answered): a resend cannot overtake its first copy on the same
connection, so the agent's timeout starts again whenever the hub answers,
and what an answer proves lost is resent at once.

The hub is started with GOM_FAULT=hub-drop-ack:3 (common/gom_fault.h): it
stores every report, and does not send its third ACK, as when an agent's
pipe is full. The agent (window 8) has a resend timeout of at least 60 s,
so a resend on timeout alone would come after the test's 25 s deadline.
The hub answers the reports sent after the lost one; an answer to a later
report on the same connection proves the earlier one's answer lost (the
hub answers a connection's messages in order), so the agent resends it at
once. At the end: all 8 acked within the deadline, exactly one report
sent twice, the hub answered it `duplicate` with the receipt it had
given, and each report is stored once.
"""

import gomtest
from gomtest import GomTestCase


class LostAnswerTest(GomTestCase):

    N = 8

    def test_lost_ack_resent_at_once(self):
        hub = self.new_hub()
        agent = self.new_agent(hub, 'P01')
        agent.set('window', str(self.N))
        agent.set('resend_min_ms', '60000')
        agent.set('resend_max_ms', '120000')
        files = [self.report('P01', form='L%03d' % i) for i in range(self.N)]
        ids = set(agent.submit_ok(*files).values())
        self.assertEqual(len(ids), self.N)

        gomtest.start_with_fault(hub, 'hub-drop-ack:3')
        hub.wait_listening()
        agent.start()

        rows = self.wait_all_acked(agent, self.N, timeout=25)
        self.assertIn('hub-drop-ack: an ACK not sent',
                      hub.log_text(since_start=True),
                      'the hub sent every ACK: the fault did not fire')
        self.assertEqual({r['report_id'] for r in rows}, ids)
        twice = [r for r in rows if r['attempts'] > 1]
        self.assertEqual(len(twice), 1, 'one report should have been sent '
                         'twice (its ACK was lost), not %s'
                         % [(r['report_id'], r['attempts']) for r in rows])
        self.assertEqual(twice[0]['attempts'], 2)
        self.assertEqual(hub.status()['duplicates'], 1)
        stored = self.assert_hub_whole(hub, [agent], expect_total=self.N)
        self.assertEqual(len(stored), self.N)
        agent.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()

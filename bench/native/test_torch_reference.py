"""Tests of torch_reference.py's planning (no torch needed): python3 -m unittest bench/native/test_torch_reference.py"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import torch_reference as tr  # noqa: E402

PLAN = os.path.join(os.path.dirname(__file__), "plan.json")


class Planning(unittest.TestCase):
    def test_cuts_follow_the_v15_64_schedule(self):
        counts = [576] * 3 + [82] * 4 + [32] * 9 + [18] * 16
        self.assertEqual(tr.stage_cuts(counts), [(2, 82), (6, 32), (15, 18)])
        self.assertEqual(tr.stage_cuts([576] * 32), [])

    def test_growing_counts_are_refused(self):
        with self.assertRaises(ValueError):
            tr.stage_cuts([576, 100, 200])

    def test_kept_rows_keep_prompt_and_text_and_spread_visual(self):
        rows = tr.kept_rows(pre=2, visual_in=10, visual_out=4, text=3)
        self.assertEqual(rows[:2], [0, 1])
        self.assertEqual(rows[-3:], [12, 13, 14])
        visual = rows[2:-3]
        self.assertEqual(len(visual), 4)
        self.assertEqual(visual, sorted(set(visual)))
        self.assertTrue(all(2 <= r < 12 for r in visual))
        self.assertEqual(tr.kept_rows(1, 5, 5, 1), list(range(7)))
        with self.assertRaises(ValueError):
            tr.kept_rows(1, 5, 6, 1)
        with self.assertRaises(ValueError):
            tr.kept_rows(1, 5, 0, 1)

    def test_sequence_lengths(self):
        self.assertEqual(tr.sequence_lengths(2, 12, [576, 82, 18]), [590, 96, 32])

    def test_spread(self):
        s = tr.spread([3.0, 1.0, 2.0, 10.0])
        self.assertEqual((s["median"], s["min"], s["max"], s["n"]), (2.5, 1.0, 10.0, 4))
        self.assertAlmostEqual(s["q1"], 1.75)  # numpy type-7, like bench/stats.ts
        self.assertAlmostEqual(s["q3"], 4.75)
        self.assertEqual(tr.spread([5.0])["median"], 5.0)

    def test_committed_plan_is_valid_and_replays_the_brief_counts(self):
        with open(PLAN) as f:
            plan = json.load(f)
        tr.check_plan(plan)
        self.assertEqual(tr.stage_cuts(plan["schedules"]["sparsevlm:64"]), [(2, 82), (6, 32), (15, 18)])
        bad = json.loads(json.dumps(plan))
        bad["schedules"]["none"] = bad["schedules"]["none"][:-1]
        with self.assertRaises(ValueError):
            tr.check_plan(bad)

    def test_dry_run_cli(self):
        out = subprocess.run([sys.executable, tr.__file__, "--plan", PLAN, "--out", os.devnull, "--dry-run"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("sparsevlm:64 cuts: [(2, 82), (6, 32), (15, 18)]", out)


if __name__ == "__main__":
    unittest.main()

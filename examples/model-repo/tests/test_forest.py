import unittest

from forest import RandomForest


def depth(node):
    return 1 + max(depth(node[2]), depth(node[3])) if isinstance(node[-1], list) else 0


# Class 1 when x > 5, whatever the noise feature says.
ROWS = [[x, (x * 7) % 3] for x in range(11)]
LABELS = [1 if x > 5 else 0 for x in range(11)]


class RandomForestTest(unittest.TestCase):
    def test_it_learns_a_threshold(self):
        model = RandomForest(n_estimators=15, max_depth=3, max_features="all").fit(ROWS, LABELS)
        self.assertEqual(model.accuracy(ROWS, LABELS), 1.0)
        self.assertEqual(model.predict([9, 0]), 1)
        self.assertEqual(model.predict([1, 0]), 0)
        self.assertAlmostEqual(sum(model.predict_proba([4, 1])), 1.0)

    def test_the_same_seed_gives_the_same_forest(self):
        a = RandomForest(n_estimators=5, seed=3).fit(ROWS, LABELS)
        b = RandomForest(n_estimators=5, seed=3).fit(ROWS, LABELS)
        c = RandomForest(n_estimators=5, seed=4).fit(ROWS, LABELS)
        self.assertEqual(a.trees, b.trees)
        self.assertNotEqual(a.trees, c.trees)

    def test_max_depth_bounds_every_tree(self):
        for max_depth in (1, 2, 4):
            model = RandomForest(n_estimators=10, max_depth=max_depth).fit(ROWS, LABELS)
            self.assertLessEqual(max(depth(t) for t in model.trees), max_depth)

    def test_min_samples_leaf_keeps_small_leaves_out(self):
        # With 6 samples per leaf at least, 11 rows split at most once.
        model = RandomForest(n_estimators=10, max_depth=5, min_samples_leaf=6).fit(ROWS, LABELS)
        self.assertEqual(max(depth(t) for t in model.trees), 0)

    def test_a_saved_forest_predicts_the_same(self):
        model = RandomForest(n_estimators=7, max_features="0.5").fit(ROWS, LABELS)
        loaded = RandomForest.from_dict(model.to_dict())
        for row in ROWS:
            self.assertEqual(loaded.predict_proba(row), model.predict_proba(row))

    def test_bad_hyperparameters_are_refused_with_their_name(self):
        for kwargs, name in [({"n_estimators": 0}, "n_estimators"), ({"max_depth": 0}, "max_depth"),
                             ({"min_samples_leaf": 0}, "min_samples_leaf")]:
            with self.assertRaisesRegex(ValueError, name):
                RandomForest(**kwargs)
        with self.assertRaisesRegex(ValueError, "max_features"):
            RandomForest(max_features="2.5").fit(ROWS, LABELS)


if __name__ == "__main__":
    unittest.main()

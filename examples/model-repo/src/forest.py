"""A random forest classifier in plain Python (standard library only).

Bagged CART trees: each tree is grown on a bootstrap sample, each split looks at a random
subset of the features and takes the threshold with the lowest Gini impurity. Small and
slow next to scikit-learn, fast enough for a few hundred rows, and saved as plain JSON.
"""

import math
import random


def _gini(counts, total):
    if total == 0:
        return 0.0
    return 1.0 - sum((c / total) ** 2 for c in counts)


def _features_per_split(max_features, n_features):
    if max_features == "sqrt":
        return max(1, int(math.sqrt(n_features)))
    if max_features == "log2":
        return max(1, int(math.log2(n_features)))
    if max_features == "all":
        return n_features
    fraction = float(max_features)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"max_features must be sqrt, log2, all or a fraction in (0, 1], got {max_features}")
    return max(1, int(round(fraction * n_features)))


class RandomForest:
    """Hyperparameters as scikit-learn names them; labels are 0 .. n_classes - 1."""

    def __init__(self, n_estimators=100, max_depth=5, min_samples_leaf=1, max_features="sqrt",
                 seed=0):
        if n_estimators < 1:
            raise ValueError(f"n_estimators must be at least 1, got {n_estimators}")
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, got {max_depth}")
        if min_samples_leaf < 1:
            raise ValueError(f"min_samples_leaf must be at least 1, got {min_samples_leaf}")
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.seed = seed
        self.n_classes = 0
        self.trees = []

    def fit(self, rows, labels):
        if not rows or len(rows) != len(labels):
            raise ValueError("fit needs as many labels as rows, and at least one row")
        self.n_classes = max(labels) + 1
        n_features = len(rows[0])
        per_split = _features_per_split(self.max_features, n_features)
        rng = random.Random(self.seed)
        self.trees = []
        for _ in range(self.n_estimators):
            sample = [rng.randrange(len(rows)) for _ in range(len(rows))]
            self.trees.append(self._grow(rows, labels, sample, 1, per_split, rng))
        return self

    def _leaf(self, labels, sample):
        counts = [0] * self.n_classes
        for i in sample:
            counts[labels[i]] += 1
        return [c / len(sample) for c in counts]

    def _grow(self, rows, labels, sample, depth, per_split, rng):
        """A node is [feature, threshold, left, right]; a leaf is the class probabilities."""
        if depth > self.max_depth or len(sample) < 2 * self.min_samples_leaf:
            return self._leaf(labels, sample)
        if len({labels[i] for i in sample}) == 1:
            return self._leaf(labels, sample)
        features = rng.sample(range(len(rows[0])), per_split)
        split = self._best_split(rows, labels, sample, features)
        if split is None:
            return self._leaf(labels, sample)
        feature, threshold = split
        left = [i for i in sample if rows[i][feature] <= threshold]
        right = [i for i in sample if rows[i][feature] > threshold]
        return [feature, threshold,
                self._grow(rows, labels, left, depth + 1, per_split, rng),
                self._grow(rows, labels, right, depth + 1, per_split, rng)]

    def _best_split(self, rows, labels, sample, features):
        total = len(sample)
        best, best_score = None, float("inf")
        leaf = self.min_samples_leaf
        for feature in features:
            ordered = sorted(sample, key=lambda i: rows[i][feature])
            right = [0] * self.n_classes
            for i in ordered:
                right[labels[i]] += 1
            left = [0] * self.n_classes
            for position in range(total - 1):
                label = labels[ordered[position]]
                left[label] += 1
                right[label] -= 1
                n_left = position + 1
                here = rows[ordered[position]][feature]
                after = rows[ordered[position + 1]][feature]
                if here == after or n_left < leaf or total - n_left < leaf:
                    continue
                score = (n_left * _gini(left, n_left)
                         + (total - n_left) * _gini(right, total - n_left))
                if score < best_score:
                    best, best_score = (feature, (here + after) / 2), score
        return best

    def predict_proba(self, row):
        sums = [0.0] * self.n_classes
        for tree in self.trees:
            node = tree
            while isinstance(node[-1], list):
                node = node[2] if row[node[0]] <= node[1] else node[3]
            for k, p in enumerate(node):
                sums[k] += p
        return [s / len(self.trees) for s in sums]

    def predict(self, row):
        probabilities = self.predict_proba(row)
        return max(range(self.n_classes), key=lambda k: probabilities[k])

    def accuracy(self, rows, labels):
        if not rows:
            raise ValueError("accuracy of no rows")
        right = sum(1 for row, label in zip(rows, labels) if self.predict(row) == label)
        return right / len(rows)

    def to_dict(self):
        return {
            "hyperparameters": {
                "n_estimators": self.n_estimators,
                "max_depth": self.max_depth,
                "min_samples_leaf": self.min_samples_leaf,
                "max_features": self.max_features,
                "seed": self.seed,
            },
            "n_classes": self.n_classes,
            "trees": self.trees,
        }

    @classmethod
    def from_dict(cls, data):
        forest = cls(**data["hyperparameters"])
        forest.n_classes = data["n_classes"]
        forest.trees = data["trees"]
        return forest

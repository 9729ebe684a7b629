import contextlib
import io
import json
import os
import re
import tempfile
import unittest

import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "data")


def metric_definitions():
    with open(os.path.join(REPO, "configuration", "trainingjob.json"), encoding="utf-8") as file:
        return json.load(file)["AlgorithmSpecification"]["MetricDefinitions"]


class TrainTest(unittest.TestCase):
    def run_train(self, *hyperparameters, train_dir=None):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        self.model_dir = os.path.join(self.folder.name, "model")
        self.output_dir = os.path.join(self.folder.name, "output")
        argv = list(hyperparameters) + [
            "--train", train_dir or os.path.join(DATA, "train"),
            "--validation", os.path.join(DATA, "validation"),
            "--test", os.path.join(DATA, "test"),
            "--model_dir", self.model_dir, "--output_dir", self.output_dir,
        ]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = train.main(argv)
        return code, out.getvalue()

    def metrics(self, output):
        """What SageMaker reads from the log with trainingjob.json's MetricDefinitions."""
        found = {}
        for line in output.splitlines():
            for definition in metric_definitions():
                match = re.search(definition["Regex"], line)
                if match:
                    found[definition["Name"]] = float(match.group(1))
        return found

    def test_training_prints_every_metric_sagemaker_reads_and_saves_the_model(self):
        code, output = self.run_train("--n_estimators", "20")
        self.assertEqual(code, 0, output)
        metrics = self.metrics(output)
        self.assertEqual(set(metrics), {"train:accuracy", "validation:accuracy", "test:accuracy"})
        self.assertGreater(metrics["validation:accuracy"], 0.7)
        with open(os.path.join(self.model_dir, "model.json"), encoding="utf-8") as file:
            saved = json.load(file)
        self.assertEqual(len(saved["forest"]["trees"]), 20)

    def test_hyperparameters_change_the_model(self):
        _, shallow = self.run_train("--max_depth", "1", "--n_estimators", "10")
        _, deep = self.run_train("--max_depth", "8", "--n_estimators", "10")
        self.assertLess(self.metrics(shallow)["train:accuracy"], self.metrics(deep)["train:accuracy"])

    def test_a_failure_is_written_for_sagemaker(self):
        with tempfile.TemporaryDirectory() as empty:
            code, _ = self.run_train(train_dir=empty)
        self.assertEqual(code, 1)
        with open(os.path.join(self.output_dir, "failure"), encoding="utf-8") as file:
            self.assertRegex(file.read(), r"^ValueError: no CSV file in ")

    def test_bad_hyperparameters_fail_with_a_reason(self):
        code, _ = self.run_train("--max_depth", "0")
        self.assertEqual(code, 1)
        with open(os.path.join(self.output_dir, "failure"), encoding="utf-8") as file:
            self.assertIn("max_depth must be at least 1", file.read())


if __name__ == "__main__":
    unittest.main()

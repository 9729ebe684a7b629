import json
import os
import tempfile
import unittest

import inference
import penguins
from forest import RandomForest

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
CSV = "Gentoo,Biscoe,46.4,15,216,4700\nAdelie,Dream,41.1,18.1,205,4300\n"


class InferenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rows, labels = penguins.read_channel(os.path.join(DATA, "train"))
        forest = RandomForest(n_estimators=10, max_features="sqrt").fit(rows, labels)
        cls.folder = tempfile.TemporaryDirectory()
        with open(os.path.join(cls.folder.name, "model.json"), "w", encoding="utf-8") as file:
            json.dump({"features": penguins.FEATURES, "classes": penguins.CLASSES,
                       "forest": forest.to_dict()}, file)
        cls.model = inference.model_fn(cls.folder.name)

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def test_csv_in_json_out(self):
        data = inference.input_fn(CSV.encode(), "text/csv")
        predictions = inference.predict_fn(data, self.model)
        self.assertEqual([p["sex"] for p in predictions], ["female", "male"])
        answer = json.loads(inference.output_fn(predictions, "application/json"))
        self.assertEqual(len(answer), 2)
        self.assertTrue(all(0.5 <= p["probability"] <= 1.0 for p in answer))

    def test_a_header_row_and_json_records_are_accepted(self):
        header = ",".join(inference.COLUMNS) + "\n"
        self.assertEqual(inference.input_fn(header + CSV, "text/csv"), inference.input_fn(CSV, "text/csv"))
        record = dict(zip(inference.COLUMNS, CSV.splitlines()[0].split(",")))
        self.assertEqual(inference.input_fn(json.dumps(record), "application/json"),
                         inference.input_fn(CSV, "text/csv")[:1])

    def test_csv_answers_are_one_line_per_penguin(self):
        predictions = inference.predict_fn(inference.input_fn(CSV, "text/csv"), self.model)
        self.assertRegex(inference.output_fn(predictions, "text/csv"), r"^female,[0-9.]+\nmale,[0-9.]+\n$")

    def test_what_cannot_be_served_says_why(self):
        with self.assertRaisesRegex(ValueError, "not supported"):
            inference.input_fn("x", "application/x-parquet")
        with self.assertRaisesRegex(ValueError, "expected species"):
            inference.input_fn("Gentoo,Biscoe\n", "text/csv")
        with self.assertRaisesRegex(ValueError, "not supported"):
            inference.output_fn([], "application/x-parquet")


if __name__ == "__main__":
    unittest.main()

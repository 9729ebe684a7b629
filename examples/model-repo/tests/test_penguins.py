import os
import tempfile
import unittest

import penguins

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
PENGUIN = {"species": "Gentoo", "island": "Biscoe", "bill_length_mm": "46.4",
           "bill_depth_mm": "15", "flipper_length_mm": "216", "body_mass_g": "4700"}


class PenguinsTest(unittest.TestCase):
    def test_a_penguin_is_one_hot_categories_then_measurements(self):
        self.assertEqual(penguins.encode(PENGUIN),
                         [0, 0, 1, 1, 0, 0, 46.4, 15.0, 216.0, 4700.0])
        self.assertEqual(len(penguins.FEATURES), 10)

    def test_unknown_values_are_refused(self):
        with self.assertRaisesRegex(ValueError, "unknown species"):
            penguins.encode(dict(PENGUIN, species="Emperor"))
        with self.assertRaisesRegex(ValueError, "not a number"):
            penguins.encode(dict(PENGUIN, body_mass_g="heavy"))
        with self.assertRaisesRegex(ValueError, "column"):
            penguins.encode({"species": "Gentoo"})

    def test_the_shipped_channels_hold_every_labelled_penguin(self):
        sizes = {name: len(penguins.read_channel(os.path.join(DATA, name))[0])
                 for name in ("train", "validation", "test")}
        self.assertEqual(sizes, {"train": 200, "validation": 68, "test": 65})

    def test_a_bad_row_is_reported_with_file_and_line(self):
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "bad.csv"), "w", encoding="utf-8") as file:
                file.write("sex,species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n")
                file.write("female,Gentoo,Biscoe,46.4,15,216,4700\n")
                file.write("unknown,Gentoo,Biscoe,46.4,15,216,4700\n")
            with self.assertRaisesRegex(ValueError, r"bad\.csv:3: sex"):
                penguins.read_channel(folder)
            os.remove(os.path.join(folder, "bad.csv"))
            with self.assertRaisesRegex(ValueError, "no CSV file"):
                penguins.read_channel(folder)


if __name__ == "__main__":
    unittest.main()

"""serve.py as the local SageMaker runs it: a subprocess on a loopback port, over real HTTP.

Run with `make serving-test` (or `python3 -m unittest discover -s local/sagemaker/serving`).
Every wait is bounded and every process is killed at clean-up.
"""

import csv
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, "serve.py")
MODEL_REPO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))),
                          "examples", "model-repo")
TIMEOUT = 10

# User handlers in the style of the scikit-learn container's examples.
CSV_PROGRAM = """
    import json

    def model_fn(model_dir):
        with open(model_dir + "/weights.json") as f:
            return json.load(f)

    def input_fn(data, content_type):
        assert isinstance(data, str), type(data)
        assert content_type == "text/csv", content_type
        return [[float(v) for v in line.split(",")] for line in data.splitlines() if line]

    def predict_fn(rows, model):
        return [sum(w * v for w, v in zip(model, row)) for row in rows]

    def output_fn(prediction, accept):
        if accept == "text/csv":
            return "".join(f"{p}\\n" for p in prediction)
        return json.dumps({"predictions": prediction})
"""

PREDICT_MODEL = """
    class Model:
        def predict(self, data):
            return [sum(row) if isinstance(row, list) else row for row in data]

    def model_fn(model_dir):
        return Model()
"""


def with_model(handlers):
    """PREDICT_MODEL and more handlers."""
    return textwrap.dedent(PREDICT_MODEL) + textwrap.dedent(handlers)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.model_dir = os.path.join(self.dir.name, "model")
        self.code_dir = os.path.join(self.dir.name, "code")
        os.makedirs(self.model_dir)
        os.makedirs(self.code_dir)

    def write(self, folder, name, text):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))

    def start(self, program=None, program_name="inference.py", env=None, code_dir=None):
        """The process; its stdout and stderr go to files, read back by out() and err()."""
        if program is not None:
            self.write(self.code_dir, program_name, program)
        self.port = free_port()
        # Files, not pipes: nothing has to drain them, and they are read while it runs.
        self.stdout = tempfile.NamedTemporaryFile(dir=self.dir.name, prefix="stdout")
        self.stderr = tempfile.NamedTemporaryFile(dir=self.dir.name, prefix="stderr")
        self.addCleanup(self.stdout.close)
        self.addCleanup(self.stderr.close)
        self.proc = subprocess.Popen(
            [sys.executable, SERVE, "--host", "127.0.0.1", "--port", str(self.port),
             "--model-dir", self.model_dir, "--code-dir", code_dir or self.code_dir,
             "--program", program_name],
            stdin=subprocess.DEVNULL, stdout=self.stdout, stderr=self.stderr,
            env=self.environment(env))
        self.addCleanup(self.kill, self.proc)
        return self.proc

    def environment(self, extra):
        # Not unbuffered: the Rust side does not ask for it, so the listening line's flush is
        # what is tested. No bytecode: examples/model-repo/src is served in place.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        env.update(SAGEMAKER_BIND_TO_PORT=str(self.port), SM_MODEL_DIR=self.model_dir,
                   PYTHONDONTWRITEBYTECODE="1", **(extra or {}))
        return env

    @staticmethod
    def kill(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)

    def out(self):
        return self.read(self.stdout.name)

    def err(self):
        return self.read(self.stderr.name)

    @staticmethod
    def read(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def serve(self, program, **kwargs):
        """Start and wait for the listening line; then a connection to it."""
        self.start(program, **kwargs)
        line = f"model server listening on http://127.0.0.1:{self.port}\n"
        deadline = time.monotonic() + TIMEOUT
        while line not in self.out():
            if self.proc.poll() is not None:
                self.fail(f"serve.py exited {self.proc.returncode}:\n{self.err()}")
            if time.monotonic() > deadline:
                self.fail(f"no listening line in {TIMEOUT} s:\n{self.err()}")
            time.sleep(0.01)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        self.addCleanup(conn.close)
        return conn

    def request(self, conn, method, path, body=None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()

    def invoke(self, conn, body, content_type=None, accept=None):
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        return self.request(conn, "POST", "/invocations", body, headers)

    def exit_code(self, program, **kwargs):
        self.start(program, **kwargs)
        return self.proc.wait(TIMEOUT)


class HostingContractTest(ServeCase):
    def test_ping_execution_parameters_and_unknown_paths(self):
        conn = self.serve(PREDICT_MODEL)
        self.assertEqual(self.request(conn, "GET", "/ping"), (200, None, b""))
        status, content_type, body = self.request(conn, "GET", "/execution-parameters")
        self.assertEqual((status, content_type), (200, "application/json"))
        self.assertEqual(json.loads(body), {"MaxConcurrentTransforms": 1,
                                            "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6})
        self.assertEqual(self.request(conn, "GET", "/nope")[0], 404)
        self.assertEqual(self.request(conn, "POST", "/nope", b"x")[0], 404)
        # The connection is still in step after the error replies.
        self.assertEqual(self.request(conn, "GET", "/ping")[0], 200)

    def test_keep_alive_serves_two_requests_on_one_connection(self):
        conn = self.serve(PREDICT_MODEL)
        self.assertEqual(self.invoke(conn, b"[[1, 2]]")[2], b"[3]")
        sock = conn.sock
        self.assertIsNotNone(sock, "the server closed the connection after one request")
        self.assertEqual(self.invoke(conn, b"[[3, 4]]")[2], b"[7]")
        self.assertIs(conn.sock, sock)

    def test_an_oversized_body_is_413_without_being_read(self):
        conn = self.serve(PREDICT_MODEL)
        conn.putrequest("POST", "/invocations")
        conn.putheader("Content-Type", "text/csv")
        conn.putheader("Content-Length", str(6 * 1024 * 1024 + 1))
        conn.endheaders()  # and no body: the reply must not wait for it
        response = conn.getresponse()
        self.assertEqual(response.status, 413)
        self.assertIn(b"6 MiB", response.read())
        # 6 MiB exactly is served.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        self.addCleanup(conn.close)
        body = b"[1]".ljust(6 * 1024 * 1024)
        self.assertEqual(self.invoke(conn, body, "application/json")[:2], (200, "application/json"))

    def test_sigterm_and_sigint_stop_the_server_with_exit_code_0(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=signum.name):
                conn = self.serve(PREDICT_MODEL)
                self.assertEqual(self.request(conn, "GET", "/ping")[0], 200)  # an idle keep-alive
                self.proc.send_signal(signum)
                self.assertEqual(self.proc.wait(TIMEOUT), 0)


class UserHandlersTest(ServeCase):
    def test_csv_in_json_and_csv_out(self):
        self.write(self.model_dir, "weights.json", "[1, 10]")
        conn = self.serve(CSV_PROGRAM)
        status, content_type, body = self.invoke(conn, b"1,2\n3,4\n", "text/csv", "application/json")
        self.assertEqual((status, content_type), (200, "application/json"))
        self.assertEqual(json.loads(body), {"predictions": [21.0, 43.0]})
        self.assertEqual(self.invoke(conn, b"1,2\n", "text/csv", "text/csv"),
                         (200, "text/csv", b"21.0\n"))
        # No Accept: SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT's default, application/json.
        self.assertEqual(self.invoke(conn, b"1,2\n", "text/csv")[1], "application/json")

    def test_default_accept_comes_from_the_environment(self):
        self.write(self.model_dir, "weights.json", "[1, 10]")
        conn = self.serve(CSV_PROGRAM, env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
        self.assertEqual(self.invoke(conn, b"1,2\n", "text/csv"), (200, "text/csv", b"21.0\n"))
        self.assertEqual(self.invoke(conn, b"1,2\n", "text/csv", "*/*"), (200, "text/csv", b"21.0\n"))

    def test_binary_types_reach_input_fn_as_bytes(self):
        conn = self.serve(with_model("""
            def input_fn(data, content_type):
                return [f"{type(data).__name__} {content_type}"]
        """))
        self.assertEqual(self.invoke(conn, b"\x00\xff", "application/octet-stream")[2],
                         b'["bytes application/octet-stream"]')
        self.assertEqual(self.invoke(conn, b"{}", "application/json; charset=utf-8")[2],
                         b'["str application/json; charset=utf-8"]')
        self.assertEqual(self.invoke(conn, b"a", "text/x-anything")[2], b'["str text/x-anything"]')
        # No Content-Type: application/json.
        self.assertEqual(self.invoke(conn, b"{}")[2], b'["str application/json"]')
        status, _, body = self.invoke(conn, b"\xff\xfe", "text/csv")
        self.assertEqual(status, 400)
        self.assertIn(b"UTF-8", body)

    def test_transform_fn_alone_is_called(self):
        conn = self.serve("""
            def model_fn(model_dir):
                return "the model"

            def input_fn(data, content_type):
                raise AssertionError("input_fn must not be called")

            def transform_fn(model, data, content_type, accept):
                return json.dumps([model, data, content_type, accept])

            import json
        """)
        status, content_type, body = self.invoke(conn, b"1,2", "text/csv", "application/x-mine")
        self.assertEqual((status, content_type), (200, "application/x-mine"))
        self.assertEqual(json.loads(body), ["the model", "1,2", "text/csv", "application/x-mine"])

    def test_a_body_and_content_type_tuple_sets_the_content_type(self):
        conn = self.serve(with_model("""
            def output_fn(prediction, accept):
                return b"\\x01\\x02", "application/x-custom"
        """))
        self.assertEqual(self.invoke(conn, b"[1]", accept="application/json"),
                         (200, "application/x-custom", b"\x01\x02"))

    def test_a_raising_handler_is_500_with_its_message_and_a_traceback_on_stderr(self):
        conn = self.serve(with_model("""
            def predict_fn(data, model):
                raise ValueError("no penguin here")
        """))
        status, content_type, body = self.invoke(conn, b"[1]")
        self.assertEqual((status, body), (500, b"ValueError: no penguin here"))
        self.assertTrue(content_type.startswith("text/plain"))
        self.assertIn("Traceback", self.err())
        self.assertIn("in predict_fn", self.err())
        self.assertEqual(self.request(conn, "GET", "/ping")[0], 200)  # still serving

    def test_a_return_that_is_not_a_body_is_500_saying_what_it_was(self):
        conn = self.serve(with_model("""
            def output_fn(prediction, accept):
                return prediction
        """))
        status, _, body = self.invoke(conn, b"[[1, 2]]")
        self.assertEqual(status, 500)
        self.assertIn(b"output_fn returned a list", body)

    def test_the_program_may_be_a_module_name(self):
        self.write(self.code_dir, "handler.py", PREDICT_MODEL)
        conn = self.serve(None, program_name="handler")
        self.assertEqual(self.invoke(conn, b"[[1, 2]]")[2], b"[3]")


class DefaultHandlersTest(ServeCase):
    def test_json_in_json_out(self):
        conn = self.serve(PREDICT_MODEL)
        self.assertEqual(self.invoke(conn, b"[[1, 2], [3, 4.5]]", "application/json",
                                     "application/json"),
                         (200, "application/json", b"[3, 7.5]"))

    def test_csv_in_csv_out(self):
        conn = self.serve("""
            class Model:
                def predict(self, rows):
                    return rows  # the parsed rows, echoed

            def model_fn(model_dir):
                return Model()
        """)
        status, content_type, body = self.invoke(conn, b"1,2.5,x\n\n3,4,y\n", "text/csv",
                                                 "application/json")
        self.assertEqual((status, content_type), (200, "application/json"))
        self.assertEqual(json.loads(body), [[1.0, 2.5, "x"], [3.0, 4.0, "y"]])
        self.assertEqual(self.invoke(conn, b"1,2\n3,4\n", "text/csv", "text/csv"),
                         (200, "text/csv", b"1.0,2.0\n3.0,4.0\n"))

    def test_a_flat_prediction_is_one_csv_line_per_value(self):
        conn = self.serve(PREDICT_MODEL)
        self.assertEqual(self.invoke(conn, b"1,2\n3,4\n", "text/csv", "text/csv"),
                         (200, "text/csv", b"3.0\n7.0\n"))

    def test_unsupported_types_are_415_and_406(self):
        conn = self.serve(PREDICT_MODEL)
        status, _, body = self.invoke(conn, b"x", "application/x-parquet")
        self.assertEqual(status, 415)
        self.assertIn(b"application/json", body)
        self.assertIn(b"text/csv", body)
        status, _, body = self.invoke(conn, b"[1]", "application/json", "application/x-parquet")
        self.assertEqual(status, 406)
        self.assertIn(b"application/x-parquet", body)

    def test_a_model_without_predict_is_500_asking_for_predict_fn(self):
        conn = self.serve("""
            def model_fn(model_dir):
                return {"weights": [1]}
        """)
        status, _, body = self.invoke(conn, b"[1]")
        self.assertEqual(status, 500)
        self.assertIn(b"predict_fn", body)

    def test_malformed_json_is_400(self):
        conn = self.serve(PREDICT_MODEL)
        self.assertEqual(self.invoke(conn, b"[1,", "application/json")[0], 400)


class StartUpTest(ServeCase):
    def test_model_fn_raising_exits_1_with_model_load_error(self):
        self.assertEqual(self.exit_code("""
            def model_fn(model_dir):
                raise FileNotFoundError("model.joblib is not in " + model_dir)
        """), 1)
        err = self.err()
        self.assertIn("Traceback", err)
        self.assertEqual(err.rstrip().splitlines()[-1],
                         f"ModelLoadError: FileNotFoundError: model.joblib is not in {self.model_dir}")
        self.assertNotIn("listening", self.out())

    def test_an_import_error_exits_1_with_model_load_error(self):
        self.assertEqual(self.exit_code("import no_such_package_anywhere\n"), 1)
        self.assertIn("ModelLoadError: ModuleNotFoundError: No module named "
                      "'no_such_package_anywhere'", self.err())

    def test_a_missing_program_exits_2_naming_the_program_the_dir_and_its_files(self):
        self.write(self.code_dir, "train.py", "")
        self.assertEqual(self.exit_code(None, program_name="inference.py"), 2)
        err = self.err()
        self.assertIn("inference.py", err)
        self.assertIn(self.code_dir, err)
        self.assertIn("train.py", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_a_program_without_model_fn_exits_2(self):
        self.assertEqual(self.exit_code("def predict_fn(data, model):\n    return data\n"), 2)
        self.assertIn("model_fn(model_dir)", self.err())

    def test_requirements_txt_is_reported_not_installed(self):
        self.write(self.code_dir, "requirements.txt", "scikit-learn\n")
        self.serve(PREDICT_MODEL)
        self.assertIn("requirements.txt is NOT installed", self.err())


class ModelRepositoryTest(ServeCase):
    """examples/model-repo's real inference code, on a small forest trained as its tests do."""

    def test_the_sample_repository_answers_one_csv_line_per_penguin(self):
        src = os.path.join(MODEL_REPO, "src")
        sys.path.insert(0, src)
        dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            import inference
            import penguins
            from forest import RandomForest
        finally:
            sys.path.remove(src)
            sys.dont_write_bytecode = dont_write_bytecode
        rows, labels = penguins.read_channel(os.path.join(MODEL_REPO, "data", "train"))
        forest = RandomForest(n_estimators=10, max_features="sqrt").fit(rows, labels)
        self.write(self.model_dir, "model.json", json.dumps(
            {"features": penguins.FEATURES, "classes": penguins.CLASSES, "forest": forest.to_dict()}))

        with open(os.path.join(MODEL_REPO, "data", "test", "test.csv"), newline="") as f:
            records = list(csv.DictReader(f))
        request = "".join(",".join(r[c] for c in inference.COLUMNS) + "\n" for r in records)

        conn = self.serve(None, code_dir=src)
        status, content_type, body = self.invoke(conn, request.encode(), "text/csv", "text/csv")
        self.assertEqual((status, content_type), (200, "text/csv"), body)
        lines = body.decode().splitlines()
        self.assertEqual(len(lines), len(records))
        for line in lines:
            self.assertRegex(line, r"^(male|female),[0-9.]+$")
        # Most answers are right (the sample's gate asks 0.8 of the full forest).
        right = sum(line.split(",")[0] == r["sex"] for line, r in zip(lines, records))
        self.assertGreater(right / len(records), 0.7)


if __name__ == "__main__":
    unittest.main()

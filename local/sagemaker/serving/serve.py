"""Script-mode model server of the local SageMaker's hosting (Python standard library only).

Serves a SageMaker framework container's user program (SAGEMAKER_PROGRAM: model_fn, input_fn,
predict_fn, output_fn or transform_fn) under the hosting contract (GET /ping, POST
/invocations), as the SageMaker inference toolkit and the scikit-learn container do.

    python3 serve.py --host 127.0.0.1 --port PORT --model-dir DIR --code-dir DIR \
        --program inference.py

stdout: `model server listening on http://HOST:PORT` once the model is loaded and the port bound
(the user's own prints may come before it). Exit codes: 0 after SIGTERM or SIGINT; 1 the program
failed to import or model_fn raised (last stderr line `ModelLoadError: <type>: <message>`);
2 bad arguments, no such program, or no model_fn; 3 the port cannot be bound.
"""

import argparse
import csv
import http
import http.server
import importlib
import importlib.util
import io
import json
import os
import signal
import socket
import socketserver
import sys
import time
import traceback
from urllib.parse import urlsplit

MAX_PAYLOAD_MB = 6
MAX_PAYLOAD = MAX_PAYLOAD_MB * 1024 * 1024
EXECUTION_PARAMETERS = json.dumps(
    {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": MAX_PAYLOAD_MB}
).encode()

JSON, JSONLINES, CSV, TEXT, NPY = (
    "application/json", "application/jsonlines", "text/csv", "text/plain", "application/x-npy")
# What reaches input_fn / transform_fn as str (the toolkit's UTF-8 types); the rest as bytes.
TEXT_TYPES = {JSON, JSONLINES, "application/x-jsonlines", CSV, TEXT}
# Probed without importing it: numpy costs a tenth of a second at start-up.
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None
DEFAULT_INPUTS = [JSON, JSONLINES, CSV, TEXT] + ([NPY] if HAVE_NUMPY else [])
DEFAULT_OUTPUTS = [JSON, JSONLINES, CSV] + ([NPY] if HAVE_NUMPY else [])


class HttpError(Exception):
    """A client error found by the server or its default handlers (not a user handler's)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Stop(BaseException):
    """Raised by the SIGTERM/SIGINT handler; a BaseException so user `except Exception` lets it by."""


def exit_now(code):
    # os._exit: a non-daemon thread or atexit hook of the user's module must not delay the exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def fail(code, message):
    print(f"serve.py: {message}", file=sys.stderr)
    exit_now(code)


def media_type(value):
    return value.split(";", 1)[0].strip().lower()


def json_default(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- default handlers (the scikit-learn container's, on plain Python values) ----------------

def default_input_fn(data, content_type):
    media = media_type(content_type)
    try:
        if media == JSON:
            return json.loads(data)
        if media in (JSONLINES, "application/x-jsonlines"):
            return [json.loads(line) for line in data.splitlines() if line.strip()]
        if media == CSV:
            return [[_number(value) for value in row] for row in csv.reader(io.StringIO(data)) if row]
    except (ValueError, csv.Error) as error:  # json.JSONDecodeError is a ValueError
        raise HttpError(400, f"the {media} body cannot be parsed: {error}") from None
    if media == TEXT:
        return data
    if media == NPY and HAVE_NUMPY:
        import numpy
        try:
            return numpy.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as error:
            raise HttpError(400, f"the {media} body cannot be parsed: {error}") from None
    raise HttpError(415, f"the default input_fn does not handle content type {content_type!r}: "
                         f"send one of {', '.join(DEFAULT_INPUTS)}, or define input_fn(input_data, "
                         "content_type) in the program")


def _number(value):
    try:
        return float(value)
    except ValueError:
        return value


def default_predict_fn(data, model):
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise HttpError(500, f"the model (a {type(model).__name__}) has no predict method: define "
                             "predict_fn(input_data, model) in the program")
    return predict(data)


def default_output_fn(prediction, accept):
    for wanted in accept.split(","):
        media = media_type(wanted)
        if media == "*/*":
            media = media_type(default_accept())
        if media == JSON:
            return json.dumps(prediction, default=json_default), JSON
        if media in (JSONLINES, "application/x-jsonlines"):
            rows = prediction.tolist() if hasattr(prediction, "tolist") else prediction
            if not isinstance(rows, (list, tuple)):
                rows = [rows]
            return "".join(json.dumps(row, default=json_default) + "\n" for row in rows), media
        if media == CSV:
            return _csv(prediction), CSV
        if media == NPY and HAVE_NUMPY:
            import numpy
            buffer = io.BytesIO()
            numpy.save(buffer, numpy.asarray(prediction), allow_pickle=False)
            return buffer.getvalue(), NPY
    raise HttpError(406, f"the default output_fn does not produce accept type {accept!r}: ask for "
                         f"one of {', '.join(DEFAULT_OUTPUTS)}, or define output_fn(prediction, "
                         "accept) in the program")


def _csv(prediction):
    if hasattr(prediction, "tolist"):
        prediction = prediction.tolist()
    if not isinstance(prediction, (list, tuple)):
        prediction = [prediction]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in prediction:
        if hasattr(row, "tolist"):
            row = row.tolist()
        writer.writerow(row if isinstance(row, (list, tuple)) else [row])
    return out.getvalue()


def default_accept():
    return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON


# --- the user's program ----------------------------------------------------------------------

def load_program(code_dir, program):
    """The imported module; exits 2 when the program is not there."""
    sys.path.insert(0, code_dir)
    if program.endswith(".py"):
        found = os.path.isfile(os.path.join(code_dir, program))
        name = program[:-3].replace(os.sep, ".").replace("/", ".")
    else:
        name = program
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
    if not found:
        try:
            entries = sorted(e + ("/" if os.path.isdir(os.path.join(code_dir, e)) else "")
                             for e in os.listdir(code_dir))
            held = f"which holds: {', '.join(entries[:30])}" if entries else "which is empty"
            if len(entries) > 30:
                held += f" and {len(entries) - 30} more"
        except OSError as error:
            held = f"which cannot be read ({error.strerror})"
        fail(2, f"the program {program!r} (SAGEMAKER_PROGRAM) is not in the code dir {code_dir}, "
                f"{held}. Set SAGEMAKER_PROGRAM to the inference script's file name, relative to "
                "the code dir (sagemaker_submit_directory, or the model's code/ folder).")
    return importlib.import_module(name)


class Handlers:
    def __init__(self, module):
        def user(name):
            fn = getattr(module, name, None)
            return fn if callable(fn) else None

        self.transform_fn = user("transform_fn")
        self.input_fn = user("input_fn") or default_input_fn
        self.predict_fn = user("predict_fn") or default_predict_fn
        self.output_fn = user("output_fn") or default_output_fn
        self.user_output = user("output_fn") is not None


def load(args):
    requirements = os.path.join(args.code_dir, "requirements.txt")
    if os.path.isfile(requirements):
        print(f"serve.py: {requirements} is NOT installed locally: the model server runs this "
              f"machine's Python ({sys.executable}) with the packages it has", file=sys.stderr)
    try:
        module = load_program(args.code_dir, args.program)
        model_fn = getattr(module, "model_fn", None)
        if not callable(model_fn):
            fail(2, f"the program {args.program!r} defines no model_fn: define model_fn(model_dir), "
                    "which loads the model from the model directory (called once, at start-up)")
        model = model_fn(args.model_dir)
    except Exception as error:
        traceback.print_exc()
        sys.stderr.flush()
        message = " ".join(str(error).split("\n"))  # the last line must be the whole of it
        print(f"ModelLoadError: {type(error).__name__}: {message}", file=sys.stderr)
        exit_now(1)
    return model, Handlers(module)


# --- HTTP ------------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every reply has a Content-Length
    disable_nagle_algorithm = True  # TCP_NODELAY: a reply is one write, send it at once
    model = None
    handlers = None

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # one line per request on stderr would cost more than the request

    def reply(self, status, body=b"", content_type=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
                f"Content-Length: {len(body)}"]
        if content_type:
            head.append(f"Content-Type: {content_type}")
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def error(self, status, message):
        self.reply(status, message, "text/plain; charset=utf-8")

    def handle_expect_100(self):
        # Refuse an oversized body before the client sends it.
        try:
            too_big = int(self.headers.get("Content-Length", "0")) > MAX_PAYLOAD
        except ValueError:
            too_big = False
        if too_big:
            self.close_connection = True
            self.error(413, f"the body is over the limit of {MAX_PAYLOAD_MB} MiB")
            return False
        return super().handle_expect_100()

    def do_GET(self):  # noqa: N802 (BaseHTTPRequestHandler's naming)
        path = urlsplit(self.path).path
        if path == "/ping":
            self.reply(200)
        elif path == "/execution-parameters":
            self.reply(200, EXECUTION_PARAMETERS, JSON)
        elif path == "/invocations":
            self.error(405, "POST /invocations")
        else:
            self.error(404, f"no such path: {path}")

    def do_POST(self):  # noqa: N802
        path = urlsplit(self.path).path
        try:
            body = self.read_body()
        except HttpError as error:
            self.close_connection = True  # the body was not read: the connection is out of step
            self.error(error.status, str(error))
            self.linger()
            return
        if path in ("/ping", "/execution-parameters"):
            self.error(405, f"GET {path}")
        elif path != "/invocations":
            self.error(404, f"no such path: {path}")
        else:
            self.invoke(body)

    def linger(self):
        # A client that sends the body anyway gets a reset, not the reply, when the socket is
        # closed on unread data: discard what comes, for a bounded time (nginx's lingering close).
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.connection.recv(1 << 16):
                pass
        except OSError:
            pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            length = int(length)
            if length < 0:
                raise ValueError
        except ValueError:
            raise HttpError(400, f"bad Content-Length: {length!r}") from None
        if length > MAX_PAYLOAD:
            raise HttpError(413, f"the body is {length} bytes; the limit is {MAX_PAYLOAD_MB} MiB "
                                 f"({MAX_PAYLOAD} bytes)")
        return self.rfile.read(length)

    def read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(400, "bad chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_PAYLOAD:
                raise HttpError(413, f"the body is over the limit of {MAX_PAYLOAD_MB} MiB")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def invoke(self, body):
        headers = self.headers
        # As the toolkit: the header's value as sent reaches the handlers; defaults on absence.
        content_type = headers.get("Content-Type") or headers.get("ContentType") or JSON
        accept = headers.get("Accept")
        if not accept or accept.strip() == "*/*":
            accept = default_accept()
        media = media_type(content_type)
        if media in TEXT_TYPES or media.startswith("text/"):
            try:
                data = body.decode("utf-8")
            except UnicodeDecodeError as error:
                self.error(400, f"the {media} body is not UTF-8: {error}")
                return
        else:
            data = body
        handlers = self.handlers
        stage = "transform_fn"
        try:
            if handlers.transform_fn is not None:
                result = handlers.transform_fn(self.model, data, content_type, accept)
            else:
                stage = "input_fn"
                result = handlers.input_fn(data, content_type)
                stage = "predict_fn"
                result = handlers.predict_fn(result, self.model)
                stage = "output_fn"
                result = handlers.output_fn(result, accept)
        except HttpError as error:
            self.error(error.status, str(error))
            return
        except Exception as error:
            print(f"serve.py: POST /invocations: {stage} raised:", file=sys.stderr)
            traceback.print_exc()
            self.error(500, f"{type(error).__name__}: {error}")
            return
        response_type = accept
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
            result, response_type = result
        if isinstance(result, str):
            result = result.encode("utf-8")
        elif isinstance(result, (bytearray, memoryview)):
            result = bytes(result)
        elif not isinstance(result, bytes):
            message = (f"{stage} returned a {type(result).__name__}; it must return str, bytes, or "
                       "a (body, content_type) tuple")
            print(f"serve.py: POST /invocations: {message}", file=sys.stderr)
            self.error(500, message)
            return
        self.reply(200, result, response_type)


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's 5 drops connections under a concurrent benchmark

    def server_bind(self):
        # HTTPServer.server_bind's getfqdn() is a reverse DNS lookup: slow start-ups for a name
        # nothing uses.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away
        super().handle_error(request, client_address)


def parse_args(argv):
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(env("SAGEMAKER_BIND_TO_PORT", "8080")))
    parser.add_argument("--model-dir", default=env("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--code-dir", help="default: MODEL_DIR/code")
    parser.add_argument("--program", default=env("SAGEMAKER_PROGRAM"))
    args = parser.parse_args(argv)
    if not args.program:
        parser.error("--program (or SAGEMAKER_PROGRAM) is required")
    args.code_dir = os.path.abspath(args.code_dir or os.path.join(args.model_dir, "code"))
    return args


def main(argv=None):
    # User prints reach the endpoint's log as they happen, not when a pipe buffer fills.
    sys.stdout.reconfigure(line_buffering=True)

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        args = parse_args(argv)
        model, handlers = load(args)
        Handler.model, Handler.handlers = model, handlers
        Server.address_family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        try:
            server = Server((args.host, args.port), Handler)
        except OSError as error:
            fail(3, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
        host, port = server.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"model server listening on http://{shown}:{port}", flush=True)
        server.serve_forever()
    except Stop:
        exit_now(0)


if __name__ == "__main__":
    main()

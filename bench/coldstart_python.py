"""The peer of the Rust bootstrap's cold start (bench/coldstart.py): a Python Lambda handler
that imports pyarrow (as the original system's compact function did with pandas/pyarrow),
run as a custom runtime against the same Runtime API emulator: the same HTTP calls
awslambdaric makes (next invocation, then the response)."""
import json, os, urllib.request

import pyarrow  # noqa: F401  (the import is the point: it is what a cold start pays for)
import pyarrow.parquet  # noqa: F401

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = api if api.startswith("http") else f"http://{api}"
base = base.rstrip("/") + "/2018-06-01/runtime/invocation"

def handler(event):
    return {"objects": len(event.get("Records", []))}

while True:
    with urllib.request.urlopen(f"{base}/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read() or b"{}")
    body = json.dumps(handler(event)).encode()
    urllib.request.urlopen(urllib.request.Request(f"{base}/{request_id}/response", data=body, method="POST")).read()

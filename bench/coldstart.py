"""Lambda cold start, side by side (issue: Lambda runtime): the time from starting the
runtime process to the first invocation answered, under cargo-lambda's Runtime API emulator,
for the stkc bootstrap (compact handler, pipelines/stocks.stk) and for a Python handler that
imports pyarrow (bench/coldstart_python.py). Each run starts a fresh process.
Usage: python bench/coldstart.py CARGO_LAMBDA BOOTSTRAP PIPELINE_JSON PYTHON_WITH_PYARROW [RUNS]"""
import json, os, socket, statistics, subprocess, sys, time, urllib.request

cargo_lambda, bootstrap, pipeline, peer_python = sys.argv[1:5]
runs = int(sys.argv[5]) if len(sys.argv) > 5 else 10

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

port = free_port()
emulator = subprocess.Popen([cargo_lambda, "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close(); break
        except OSError:
            time.sleep(0.1)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt", AWS_LAMBDA_FUNCTION_NAME="_",
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512", AWS_REGION="eu-central-1",
               AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", _HANDLER="compact", STK_PIPELINE=pipeline,
               STK_LAKE_BUCKET="lake", STK_ERRORS_BUCKET="errors",
               STK_ALERTS_TOPIC_ARN="arn:aws:sns:eu-central-1:123456789012:none")
    def cold_start(cmd):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/2015-03-31/functions/_/invocations",
                                         data=json.dumps({"Records": []}).encode(), method="POST")
            answer = urllib.request.urlopen(req, timeout=60).read().decode()
            took = time.perf_counter() - start
            assert "objects" in answer, answer
            return took
        finally:
            proc.kill(); proc.wait()
    for name, cmd in [("stkc bootstrap (compact)", [bootstrap]),
                      ("Python + pyarrow", [peer_python, os.path.join(os.path.dirname(__file__), "coldstart_python.py")])]:
        times = [cold_start(cmd) for _ in range(runs)]
        print(f"{name}: median {statistics.median(times)*1e3:.0f} ms, min {min(times)*1e3:.0f} ms, max {max(times)*1e3:.0f} ms over {runs} cold starts")
finally:
    emulator.kill(); emulator.wait()

"""A trivial Kinesis endpoint for the producer benchmark (bench/run-producer.sh): answers every
PutRecords (the awsJson1_1 protocol the Rust SDK speaks) with success, one SequenceNumber and
ShardId per record and FailedRecordCount 0, and CreateStream with nothing, doing as little
work as it can so that the figure measures the producer, not the endpoint (moto parses,
stores and base64-decodes every record in Python). It counts the records it acknowledged and
prints the count on SIGTERM.

  python bench/kinesis_sink.py PORT
"""

import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

acknowledged = 0
ENTRY = b'{"SequenceNumber":"4960000000000000000000000000000000000000000000000000%07d","ShardId":"shardId-000000000000"}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        global acknowledged
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".PutRecords"):
            n = body.count(b'"PartitionKey"')
            entries = b",".join(ENTRY % ((acknowledged + i) % 10_000_000) for i in range(n))
            acknowledged += n
            out = b'{"FailedRecordCount":0,"EncryptionType":"NONE","Records":[' + entries + b"]}"
            status = 200
        elif target.endswith(".CreateStream"):
            out, status = b"{}", 200
        else:
            out = b'{"__type":"UnknownOperationException","message":"only PutRecords and CreateStream"}'
            status = 400
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("x-amzn-RequestId", "sink")
        self.end_headers()
        self.wfile.write(out)


def stop(*_):
    print(f"acknowledged {acknowledged} records", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

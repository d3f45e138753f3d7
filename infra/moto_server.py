"""moto's server, with DynamoDB requests applied one at a time.

DynamoDB applies each conditional write and transaction atomically; moto's threaded server
checks a condition and writes in two steps with no lock, so concurrent conditional writes
can both pass (a lost update DynamoDB never allows). Serialising DynamoDB calls restores
DynamoDB's guarantee for the concurrency tests, while SQS long polls stay concurrent.

Usage: python infra/moto_server.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    dynamodb = threading.Lock()

    def serialising(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with dynamodb:
                # Consume the whole answer inside the lock: the write happens while it is built.
                return list(app(environ, start_response))
        return app(environ, start_response)

    run_simple(host, port, serialising, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

"""moto's server, with DynamoDB requests applied one at a time.

DynamoDB applies each conditional write and transaction atomically; moto's threaded server
checks a condition and writes in two steps with no lock, so concurrent conditional writes
can both pass (a lost update DynamoDB never allows). Serialising DynamoDB calls restores
DynamoDB's guarantee for the concurrency tests, while SQS long polls stay concurrent.

moto also backs every transaction up by deep-copying the whole table it touches, so a
transaction costs time in proportion to the table (a 1000-message backlog made each one take
hundreds of milliseconds). Under the same lock, transactions here back up only the items
they touch and restore those when moto cancels the transaction. A cancelled transaction also
leaves the table's stream as it was: DynamoDB writes no stream record for it, while moto
records the writes it applied before cancelling (and the restore would add more).

Usage: python infra/moto_server.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

import copy
import types

from moto.dynamodb import models as ddb_models


def _touched(backend, op):
    table = backend.get_table(op["TableName"])
    if "Key" in op:
        return op["TableName"], op["Key"]
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return op["TableName"], key


def _patch_transactions():
    original = ddb_models.DynamoDBBackend.transact_write_items
    no_table_copy = types.SimpleNamespace(deepcopy=lambda value, memo=None: value)

    def transact_write_items(self, transact_items):
        saved = []
        streams = {}  # table name -> (its stream shard, how many records it held)
        for item in transact_items:
            _, op = next(iter(item.items()))
            try:
                table_name, key = _touched(self, op)
                current = self.get_item(table_name, key)
            except Exception:  # moto reports malformed operations itself
                continue
            attrs = copy.deepcopy(current.to_json()["Attributes"]) if current is not None else None
            saved.append((table_name, key, attrs))
            shard = self.get_table(table_name).stream_shard
            if shard is not None and table_name not in streams:
                streams[table_name] = (shard, len(shard.items))
        ddb_models.copy = no_table_copy
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attrs in reversed(saved):
                if attrs is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attrs)
            for shard, held in streams.values():
                del shard.items[held:]
            raise
        finally:
            ddb_models.copy = copy

    ddb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _patch_transactions()
    app = DomainDispatcherApplication(create_backend_app)
    dynamodb = threading.Lock()

    def serialising(environ, start_response):
        # Stream reads too: a reader between a cancelled transaction's writes and their undoing
        # would see records DynamoDB never writes.
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(("DynamoDB_", "DynamoDBStreams_")):
            with dynamodb:
                # Consume the whole answer inside the lock: the write happens while it is built.
                return list(app(environ, start_response))
        return app(environ, start_response)

    run_simple(host, port, serialising, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

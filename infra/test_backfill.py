"""The kind backfill against the test table on moto: a conversation written before `gsi3`
becomes listable by kind; one already indexed is untouched; a second run changes nothing.

Usage (the test command runs it): python infra/test_backfill.py   (TEST_TABLE_NAME, AWS_ENDPOINT_URL set)
"""

import os

import boto3

from backfill_conversation_kind import backfill

ddb = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
table = os.environ["TEST_TABLE_NAME"]
org = "org_backfill"


def conversation(cid, extra):
    item = {
        "pk": {"S": f"ORG#{org}"},
        "sk": {"S": f"CONV#{cid}"},
        "id": {"S": cid},
        "organizationId": {"S": org},
        "gsi2pk": {"S": f"ORG#{org}#CONVS"},
        "gsi2sk": {"S": f"2024-11-24T14:53:20.000Z#{cid}"},
    }
    item.update(extra)
    ddb.put_item(TableName=table, Item=item)


def listed(kind):
    out = ddb.query(
        TableName=table,
        IndexName="gsi3",
        KeyConditionExpression="gsi3pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ORG#{org}#CONVS#KIND#{kind}"}},
    )
    return sorted(i["id"]["S"] for i in out["Items"])


conversation("conv_old", {})
conversation("conv_new", {"kind": {"S": "COMMENT"}, "gsi3pk": {"S": f"ORG#{org}#CONVS#KIND#COMMENT"},
                          "gsi3sk": {"S": "2024-11-24T14:53:20.000Z#conv_new"}})
assert listed("DM") == [], listed("DM")
updated, _ = backfill(ddb, table)
assert updated >= 1, updated
assert listed("DM") == ["conv_old"], listed("DM")
assert listed("COMMENT") == ["conv_new"], listed("COMMENT")
again, _ = backfill(ddb, table)
assert listed("DM") == ["conv_old"] and again == 0, (listed("DM"), again)
print("backfill: ok")

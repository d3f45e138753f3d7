"""Gives conversations written before the kind index existed their entry in it (`gsi3`),
so `GET /api/inbox/conversations?kind=DM` lists them too. Run once after deploying the
version that added comment threads; safe to run again, and beside the running service.

Usage: python infra/backfill_conversation_kind.py TABLE_NAME   (AWS credentials as usual)

Each conversation item (`sk` starting `CONV#`) without `gsi3pk` gets
`gsi3pk = ORG#<org>#CONVS#KIND#<kind, DM if absent>` and `gsi3sk = gsi2sk`, by a conditional
update: an item the service rewrote meanwhile (it sets its own `gsi3`) is left as it is.
"""

import sys

import boto3
from botocore.exceptions import ClientError


def backfill(ddb, table):
    """Returns (updated, skipped)."""
    updated = skipped = 0
    kwargs = {
        "TableName": table,
        "FilterExpression": "begins_with(sk, :conv) AND attribute_not_exists(gsi3pk)",
        "ExpressionAttributeValues": {":conv": {"S": "CONV#"}},
    }
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            org = item["organizationId"]["S"]
            kind = item.get("kind", {}).get("S", "DM")
            try:
                ddb.update_item(
                    TableName=table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET gsi3pk = :pk, gsi3sk = gsi2sk",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(gsi3pk)",
                    ExpressionAttributeValues={":pk": {"S": f"ORG#{org}#CONVS#KIND#{kind}"}},
                )
                updated += 1
            except ClientError as e:
                if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                skipped += 1
        if "LastEvaluatedKey" not in page:
            return updated, skipped
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    updated, skipped = backfill(boto3.client("dynamodb"), sys.argv[1])
    print(f"{updated} conversations indexed by kind; {skipped} rewritten by the service meanwhile")


if __name__ == "__main__":
    main()

"""Creates, on a local AWS-compatible server (moto), the resources template.yaml defines:
the table exactly as its definition says, the jobs queue with its dead-letter queue and
redrive policy, and a KMS key. Prints `export NAME=value` lines for the tests.

Usage: python infra/local_aws.py template.yaml  (with AWS_ENDPOINT_URL set)
"""

import os
import sys
import uuid

import boto3
from cfnlint.decode import cfn_yaml


def resources_of(template_path):
    template = cfn_yaml.load(template_path)
    return template["Resources"]


def create_table(ddb, props, name):
    keep = ["AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"]
    args = {k: props[k] for k in keep if k in props}
    if "StreamSpecification" in props:  # the event relay's source
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    ddb.create_table(TableName=name, **args)
    ddb.get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def create_queues(sqs, queue_props, suffix):
    dlq_url = sqs.create_queue(QueueName=f"jobs-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = queue_props["RedrivePolicy"]
    attributes = {
        "VisibilityTimeout": str(queue_props.get("VisibilityTimeout", 30)),
        "RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"%s"}' % (dlq_arn, redrive["maxReceiveCount"]),
    }
    url = sqs.create_queue(QueueName=f"jobs-{suffix}", Attributes=attributes)["QueueUrl"]
    return url, dlq_url, redrive["maxReceiveCount"]


def main():
    template = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    resources = resources_of(template)
    region = os.environ.get("AWS_REGION", "us-east-1")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    session = boto3.session.Session(region_name=region)
    suffix = uuid.uuid4().hex[:8]
    table = f"inbox-test-{suffix}"
    create_table(session.client("dynamodb", endpoint_url=endpoint), resources["Table"]["Properties"], table)
    queue_url, dlq_url, max_receives = create_queues(
        session.client("sqs", endpoint_url=endpoint), resources["JobsQueue"]["Properties"], suffix
    )
    key_id = session.client("kms", endpoint_url=endpoint).create_key(Description="test token key")["KeyMetadata"]["KeyId"]
    # The template's MediaBucket (its encryption and access settings are S3's to enforce).
    assert resources["MediaBucket"]["Type"] == "AWS::S3::Bucket"
    bucket = f"inbox-test-media-{suffix}"
    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    print(f"export TEST_TABLE_NAME={table}")
    print(f"export TEST_JOBS_QUEUE_URL={queue_url}")
    print(f"export TEST_JOBS_DLQ_URL={dlq_url}")
    print(f"export TEST_JOBS_MAX_RECEIVES={max_receives}")
    print(f"export TEST_KMS_KEY_ID={key_id}")
    print(f"export TEST_MEDIA_BUCKET={bucket}")


if __name__ == "__main__":
    main()

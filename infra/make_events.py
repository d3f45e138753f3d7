"""Writes events/: sample Lambda events for every function and route family, in the shapes
API Gateway (HTTP API, payload 2.0), SQS and EventBridge Scheduler send. Webhook bodies are
Meta's fixtures (../shared/fixtures/meta, and this project's own in shared/fixtures/meta for
comments and Page messages), signed with the secret the Runtime API tests
configure. Run again after changing a fixture: python3 infra/make_events.py
"""

import hashlib
import hmac
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = pathlib.Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "fixtures" / "meta" / "webhooks"
OWN_FIXTURES = ROOT / "shared" / "fixtures" / "meta" / "webhooks"


def fixture(name):
    own = OWN_FIXTURES / f"{name}.json"
    return (own if own.exists() else FIXTURES / f"{name}.json").read_text()
APP_SECRET = "events-app-secret"
VERIFY_TOKEN = "events-verify-token"
ORG = "org_events"
IG_ACCOUNT = "17841400000000001"
CUSTOMER = "6185000000000001"


def http_event(method, path, query="", body=None, headers=None, claims=None):
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    context = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "test"},
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "routeKey": f"{method} {path}",
        "stage": "$default",
        "time": "24/Nov/2024:14:54:20 +0000",
        "timeEpoch": 1732460060000,
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})},
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if params:
        event["queryStringParameters"] = params
    if body is not None:
        event["body"] = body
    return event


def signed(body, secret=APP_SECRET):
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-hub-signature-256": f"sha256={sig}"}


def inbox(method, path, query="", body=None, org=ORG, headers=None):
    claims = {"org_id": org, "sub": "agent-1"} if org else None
    h = {"content-type": "application/json", **(headers or {})} if body is not None else headers
    return http_event(method, path, query, body, h, claims)


def sqs_record(message_id, body):
    return {
        "messageId": message_id,
        "receiptHandle": f"receipt-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1732460060000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1732460060001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
        "awsRegion": "us-east-1",
    }


def stream_record(sequence, name, sk, image, old_image=None):
    """One DynamoDB stream record of the table (NEW_AND_OLD_IMAGES), as Lambda's event source gives it."""
    keys = {"pk": {"S": f"ORG#{ORG}"}, "sk": {"S": sk}}
    change = {
        "ApproximateCreationDateTime": 1732460060,
        "Keys": keys,
        "NewImage": {**keys, **image},
        "SequenceNumber": sequence,
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old_image is not None:
        change["OldImage"] = {**keys, **old_image}
    return {
        "eventID": f"event-{sequence}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/inbox/stream/2024-11-24T14:54:20.000",
    }


def message_item(status, rev, updated_at="2024-11-24T14:54:20Z"):
    """A message item as the DynamoDB store writes it (the domain's Message, camelCase, and its keys)."""
    return {
        "id": {"S": "msg_events"}, "organizationId": {"S": ORG}, "conversationId": {"S": "conv_events"},
        "provider": {"S": "INSTAGRAM"}, "direction": {"S": "INBOUND"}, "from": {"S": CUSTOMER},
        "to": {"S": IG_ACCOUNT}, "text": {"S": "Hello!"}, "attachments": {"L": []}, "status": {"S": status},
        "errorCode": {"NULL": True}, "externalMessageId": {"S": "m_events"}, "metaJson": {"M": {}},
        "createdAt": {"S": "2024-11-24T14:54:20Z"}, "updatedAt": {"S": updated_at}, "rev": {"N": str(rev)},
        "gsi1pk": {"S": f"ORG#{ORG}#CONV#conv_events#MSGS"}, "gsi1sk": {"S": "2024-11-24T14:54:20.000Z#msg_events"},
    }


def main():
    events = {}
    webhook = "/api/webhooks/instagram"
    events["webhook/verify.json"] = http_event(
        "GET", webhook, f"hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    )
    events["webhook/verify-wrong-token.json"] = http_event(
        "GET", webhook, "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444"
    )
    for name in ["text", "batch", "reaction_react", "echo", "comment", "page_message"]:
        body = fixture(name)
        events[f"webhook/receive-{name.replace('_', '-')}.json"] = http_event("POST", webhook, body=body, headers=signed(body))
    body = (FIXTURES / "text.json").read_text()
    events["webhook/receive-bad-signature.json"] = http_event("POST", webhook, body=body, headers=signed(body, "not-the-secret"))
    events["webhook/receive-not-json.json"] = http_event("POST", webhook, body="not json", headers=signed("not json"))

    conv = "conv_events"
    events["inbox-api/list-conversations.json"] = inbox("GET", "/api/inbox/conversations", "provider=INSTAGRAM&limit=20")
    events["inbox-api/get-conversation.json"] = inbox("GET", f"/api/inbox/conversations/{conv}")
    events["inbox-api/get-conversation-other-org.json"] = inbox("GET", f"/api/inbox/conversations/{conv}", org="org_other")
    events["inbox-api/list-messages.json"] = inbox("GET", f"/api/inbox/conversations/{conv}/messages", "limit=50")
    events["inbox-api/mark-read.json"] = inbox("POST", f"/api/inbox/conversations/{conv}/read")
    events["inbox-api/send-text.json"] = inbox(
        "POST", f"/api/inbox/conversations/{conv}/send-text", body=json.dumps({"text": "Yes, we ship to Lisbon!"}),
        headers={"idempotency-key": "events-send-1"},
    )
    events["inbox-api/integrations-send.json"] = inbox(
        "POST", "/api/integrations/instagram/send", body=json.dumps({"conversationId": conv, "text": "Tracking: CTT123"})
    )
    events["inbox-api/get-job-unknown.json"] = inbox("GET", "/api/integrations/jobs/job_unknown")
    events["inbox-api/create-lead.json"] = inbox(
        "POST", "/api/leads", body=json.dumps({"name": "Ana Silva", "instagramHandle": "ana.silva"})
    )
    events["inbox-api/list-leads.json"] = inbox("GET", "/api/leads")
    events["inbox-api/unauthenticated.json"] = inbox("GET", "/api/inbox/conversations", org=None)

    job = json.dumps({"jobType": "SEND_MESSAGE", "jobId": "job_events", "organizationId": ORG})
    events["job-processor/sqs-batch.json"] = {
        "Records": [sqs_record("sqs-msg-job", job), sqs_record("sqs-msg-unreadable", "not a job")]
    }
    # A new message's attachments to copy into the media bucket (the enrichment queue's work).
    copy = json.dumps({"jobType": "COPY_MEDIA", "organizationId": ORG, "payload": {"messageId": "msg_events_media"}})
    events["job-processor/sqs-copy-media.json"] = {"Records": [sqs_record("sqs-msg-copy", copy)]}
    # Typing and a seen mark queued long ago (the sends queue's work): moments, dropped when late.
    def sender_action(action):
        return json.dumps({"jobType": "SENDER_ACTION", "organizationId": ORG, "payload": {
            "organizationId": ORG, "conversationId": "conv_events", "action": {"type": action},
            "queuedAt": "2024-11-24T15:00:00Z", "attempt": 0}})
    events["job-processor/sqs-sender-actions.json"] = {"Records": [
        sqs_record("sqs-msg-typing", sender_action("TYPING_ON")), sqs_record("sqs-msg-seen", sender_action("MARK_SEEN"))]}
    events["token-refresh/scheduled.json"] = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2024-11-24T15:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/token-refresh"],
        "detail": {},
    }
    received, read = message_item("RECEIVED", 1), message_item("READ", 2, "2024-11-24T14:55:00Z")
    position = "2024-11-24T14:54:20.000Z#000000000001#evt_events_created"
    events["event-relay/stream-batch.json"] = {
        "Records": [
            # A DM stored (message.created), its Meta id guard (nothing), the message read
            # (message.updated), a write that changed only its revision (nothing), and an item
            # of the log itself (nothing).
            stream_record("100", "INSERT", "MSG#msg_events", received),
            stream_record("101", "INSERT", "MID#m_events", {"messageId": {"S": "msg_events"}}),
            stream_record("102", "MODIFY", "MSG#msg_events", read, received),
            stream_record("103", "MODIFY", "MSG#msg_events", {**read, "rev": {"N": "3"}}, read),
            stream_record("104", "INSERT", f"EVT#{position}", {"body": {"S": "{}"}, "ttl": {"N": "1732546460"}}),
        ]
    }
    for name, event in events.items():
        path = ROOT / "events" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(events)} events")


if __name__ == "__main__":
    main()

"""Runs the AWS SAM transform on template.yaml, as `sam deploy` does before CloudFormation
sees it, and fails on what SAM refuses (cfn-lint alone lets through, e.g., intrinsic
functions in an HttpApi's Auth). With `--with PARAM=VALUE ...` it also prints the resolved
routes and their authorizers, to check a deployment variant.

It also holds the queues to AWS's rules for SQS event sources (`queue_problems`): each
event source capped by `ScalingConfig.MaximumConcurrency` (reserved concurrency below their
sum would throttle, and throttled receives count toward `maxReceiveCount`, sending healthy
work to the dead-letter queue), each queue with its own dead-letter queue, each dead-letter
queue and each queue's age with an alarm, and each lane of work on its own queue.

Usage: python infra/sam_transform.py template.yaml
"""

import json
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    def load(self):
        return {}


def main() -> None:
    template, errors = decode(sys.argv[1])
    if errors:
        sys.exit(f"{sys.argv[1]}: {errors}")
    template = json.loads(json.dumps(template, default=str))
    # `sam build` replaces each CodeUri by the S3 location of the built artefact.
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/artefact.zip"
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    try:
        out = transform(template, {}, NoManagedPolicies())
    except Exception as e:  # the translator's exceptions list every problem it found
        sys.exit(f"SAM transform failed: {e}")
    problems = queue_problems(out["Resources"], template.get("Parameters", {}))
    if problems:
        sys.exit("queues:\n  " + "\n  ".join(problems))
    cycle = dependency_cycle(out["Resources"])
    if cycle:
        sys.exit("circular dependency between resources (CloudFormation refuses it): " + " -> ".join(cycle))
    apis = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    for api in apis:
        body = api["Properties"].get("Body", {})
        for path, methods in sorted(body.get("paths", {}).items()):
            if "Fn::If" in methods:
                cond, yes, _ = methods["Fn::If"]
                methods = {f"{m} (if {cond})": v for m, v in yes.items()}
            for method, op in methods.items():
                security = op.get("security", [])
                print(f"  {method.upper():>24} {path}  auth={security or 'none'}")
    print(f"SAM transform: ok ({len(out['Resources'])} resources)")


# The variable naming each lane's queue (`ports::QueueLane`).
LANES = ["JOBS_QUEUE_URL", "WEBHOOK_QUEUE_URL", "ENRICHMENT_QUEUE_URL"]


def number(value, parameters):
    """A number, or a Ref to a parameter's default."""
    if isinstance(value, dict) and "Ref" in value:
        value = parameters.get(value["Ref"], {}).get("Default")
    return int(value) if value is not None else None


def queue_problems(resources, parameters):
    """What breaks AWS's rules for the SQS queues and their event sources."""
    problems = []
    queues = {n for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    dead_letters = set()
    for name in sorted(queues):
        redrive = resources[name]["Properties"].get("RedrivePolicy")
        if redrive:
            dead_letters |= references(redrive, queues)
    alarmed = {}
    for r in resources.values():
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/SQS":
            for queue in references(r["Properties"].get("Dimensions", []), queues):
                alarmed.setdefault(queue, set()).add(r["Properties"]["MetricName"])
    consumed = {}
    for name, r in resources.items():
        if r["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        source = references(r["Properties"].get("EventSourceArn", {}), queues)
        if not source:
            continue
        function = next(iter(references(r["Properties"].get("FunctionName", {}), set(resources))), "?")
        cap = number(r["Properties"].get("ScalingConfig", {}).get("MaximumConcurrency"), parameters)
        if cap is None:
            problems.append(f"{name}: an SQS event source without ScalingConfig.MaximumConcurrency")
        consumed.setdefault(function, []).append(cap or 0)
        for queue in source:
            if queue in dead_letters:
                problems.append(f"{name}: consumes the dead-letter queue {queue}")
            if not references(resources[queue]["Properties"].get("RedrivePolicy", {}), queues):
                problems.append(f"{queue}: consumed without a dead-letter queue (RedrivePolicy)")
            if "ApproximateAgeOfOldestMessage" not in alarmed.get(queue, set()):
                problems.append(f"{queue}: no alarm on its oldest message's age")
    for dlq in sorted(dead_letters):
        if "ApproximateNumberOfMessagesVisible" not in alarmed.get(dlq, set()):
            problems.append(f"{dlq}: a dead-letter queue without an alarm on its messages")
    for function, caps in consumed.items():
        reserved = number(resources[function]["Properties"].get("ReservedConcurrentExecutions"), parameters)
        if reserved is not None and reserved < sum(caps):
            problems.append(f"{function}: reserved concurrency {reserved} below its event sources' {sum(caps)}")
    env = {}
    for r in resources.values():
        if r["Type"] == "AWS::Lambda::Function":
            env.update(r["Properties"].get("Environment", {}).get("Variables", {}))
    lane_queues = [references(env.get(lane, {}), queues) for lane in LANES]
    if any(len(q) != 1 for q in lane_queues) or len(set().union(*lane_queues)) != len(LANES):
        problems.append(f"each of {', '.join(LANES)} must name a queue of its own: {lane_queues}")
    return problems


def references(node, names):
    """The resources a piece of the template names (Ref, Fn::GetAtt, ${X} in Fn::Sub)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and value in names:
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else value.split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                for name in names:
                    if "${" + name + "}" in text or "${" + name + "." in text:
                        found.add(name)
                found |= references(value[1] if isinstance(value, list) else {}, names)
            else:
                found |= references(value, names)
    elif isinstance(node, list):
        for item in node:
            found |= references(item, names)
    return found


def dependency_cycle(resources):
    """A cycle of resources that depend on each other, as CloudFormation would refuse it."""
    names = set(resources)
    edges = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        edges[name] = (references(resource.get("Properties", {}), names) | set(depends)) - {name}
    state, path = {}, []

    def visit(name):
        state[name] = "open"
        path.append(name)
        for other in sorted(edges[name]):
            if state.get(other) == "open":
                return path[path.index(other):] + [other]
            if other not in state:
                found = visit(other)
                if found:
                    return found
        state[name] = "done"
        path.pop()
        return None

    for name in sorted(resources):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


if __name__ == "__main__":
    main()

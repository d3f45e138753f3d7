"""Runs the AWS SAM transform on template.yaml, as `sam deploy` does before CloudFormation
sees it, and fails on what SAM refuses (cfn-lint alone lets through, e.g., intrinsic
functions in an HttpApi's Auth). With `--with PARAM=VALUE ...` it also prints the resolved
routes and their authorizers, to check a deployment variant.

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

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


if __name__ == "__main__":
    main()

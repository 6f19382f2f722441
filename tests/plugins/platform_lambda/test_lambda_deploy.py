"""deploy/lambda: the container image definition and the CloudFormation template (Docker cannot
run here, so the template is parsed and, when cfn-lint is installed, linted)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
LAMBDA = ROOT / "deploy" / "lambda"
HANDLER = "otlp2parquet.plugins.platform_lambda.handler"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict[str, Any]:
    return yaml.load((LAMBDA / "template.yaml").read_text(), Loader=CfnLoader)


def test_dockerfile_uses_the_aws_base_image_and_the_documented_handler() -> None:
    text = (LAMBDA / "Dockerfile").read_text()
    assert "FROM public.ecr.aws/lambda/python:3.12" in text
    assert f'CMD ["{HANDLER}"]' in text
    for path in ("otlp2parquet", "plugins", "schemas", "pyproject.toml"):
        assert f"COPY {path}" in text or f" {path} " in text
        assert (ROOT / path).exists()


def test_handler_name_resolves() -> None:
    module, _, attr = HANDLER.rpartition(".")
    imported = __import__(module, fromlist=[attr])
    assert callable(getattr(imported, attr))


def test_template_has_function_url_bucket_and_policy() -> None:
    resources = template()["Resources"]
    types = {r["Type"] for r in resources.values()}
    assert {"AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::Lambda::Url", "AWS::IAM::Role"} <= (
        types
    )
    function = resources["Function"]["Properties"]
    assert function["PackageType"] == "Image"
    env = function["Environment"]["Variables"]
    assert env["OTLP2PARQUET_S3_BUCKET"] == {"Ref": "DataBucket"}
    policy = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"s3:PutObject", "s3:GetObject", "s3:ListBucket"} <= actions
    assert resources["FunctionUrl"]["Properties"]["TargetFunctionArn"] == {
        "Fn::GetAtt": ["Function", "Arn"]
    }
    assert template()["Parameters"]["BasicAuthPassword"]["NoEcho"] is True


def test_template_passes_cfn_lint() -> None:
    exe = shutil.which("cfn-lint") or str(Path(sys.executable).parent / "cfn-lint")
    if not Path(exe).exists():
        pytest.skip("cfn-lint is not installed (pip install cfn-lint); the YAML checks still ran")
    proc = subprocess.run(
        [exe, str(LAMBDA / "template.yaml")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

"""The CloudFormation YAML loader: short tags become long-form dicts, CloudFormation's rules apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmp_dev.devtools.cfn_yaml import TemplateLoadError, load_template

pytestmark = pytest.mark.unit


def _load_value(tmp_path: Path, yaml_value: str) -> Any:
    template = tmp_path / "template.yaml"
    template.write_text(f"Value: {yaml_value}\n", encoding="utf-8")
    return load_template(template)["Value"]


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("!Ref Bucket", {"Ref": "Bucket"}),
        ("!Condition IsProd", {"Condition": "IsProd"}),
        ("!Sub '${AWS::StackName}-x'", {"Fn::Sub": "${AWS::StackName}-x"}),
        ("!Sub ['${a}', {a: !Ref B}]", {"Fn::Sub": ["${a}", {"a": {"Ref": "B"}}]}),
        ("!GetAtt Queue.Arn", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!GetAtt Stack.Outputs.Url", {"Fn::GetAtt": ["Stack", "Outputs.Url"]}),
        ("!GetAtt [Queue, Arn]", {"Fn::GetAtt": ["Queue", "Arn"]}),
        ("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}),
        ("!If [IsProd, 1, !Ref AWS::NoValue]", {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}),
        ("!Equals [!Ref Env, prod]", {"Fn::Equals": [{"Ref": "Env"}, "prod"]}),
        ("!Not [!Condition A]", {"Fn::Not": [{"Condition": "A"}]}),
        ("!And [!Condition A, !Condition B]", {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Or [!Condition A, !Condition B]", {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Select [0, !GetAZs '']", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        ("!Split [',', !ImportValue Shared]", {"Fn::Split": [",", {"Fn::ImportValue": "Shared"}]}),
        ("!FindInMap [M, !Ref AWS::Region, k]", {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "k"]}),
        ("!Base64 hello", {"Fn::Base64": "hello"}),
        ("!Cidr [!GetAtt Vpc.CidrBlock, 6, 8]", {"Fn::Cidr": [{"Fn::GetAtt": ["Vpc", "CidrBlock"]}, 6, 8]}),
        ("!GetAZs {Ref: AWS::Region}", {"Fn::GetAZs": {"Ref": "AWS::Region"}}),
    ],
)
def test_short_tags_become_long_form(tmp_path: Path, yaml_value: str, expected: Any) -> None:
    assert _load_value(tmp_path, yaml_value) == expected


def test_dates_stay_strings_as_cloudformation_reads_them(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("AWSTemplateFormatVersion: 2010-09-09\nVersion: 2012-10-17\n", encoding="utf-8")
    assert load_template(template) == {"AWSTemplateFormatVersion": "2010-09-09", "Version": "2012-10-17"}


def test_plain_scalars_keep_their_types(tmp_path: Path) -> None:
    assert _load_value(tmp_path, "[1, 2.5, true, null, text]") == [1, 2.5, True, None, "text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Value: !Reff Bucket\n", "template.yaml:1:8: could not determine a constructor for the tag '!Reff'"),
        ("Value: !GetAtt Queue\n", "template.yaml:1:8: !GetAtt needs 'Resource.Attribute', got 'Queue'"),
        ("Value: !GetAtt [Queue]\n", "template.yaml:1:8: !GetAtt list form needs [Resource, Attribute]"),
        ("Value: !Ref [A, B]\n", "template.yaml:1:8: !Ref takes a single name"),
        ("A: 1\nA: 2\n", "template.yaml:2:1: found duplicate key 'A'"),
        ("- just\n- a list\n", "template.yaml: a template must be a mapping at the top level"),
        ("A: [unclosed\n", "template.yaml:2:1:"),
    ],
)
def test_bad_yaml_is_reported_with_its_location(tmp_path: Path, text: str, expected: str) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateLoadError) as caught:
        load_template(template)
    assert expected in str(caught.value)


def test_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="cannot read"):
        load_template(tmp_path / "absent.yaml")


def test_json_templates_load_too(tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}', encoding="utf-8")
    assert load_template(template) == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}

"""`cmp check` lints infra/'s CloudFormation offline and validates the dedicated runtime's manifests."""

from __future__ import annotations

from pathlib import Path

from cmp_dev.devtools import infra_check, manifest_check

INFRA = Path(__file__).resolve().parents[3] / "infra"


def test_the_eks_base_lints_clean_and_a_broken_template_does_not(tmp_path: Path) -> None:
    assert infra_check.problems(INFRA / "eks-base.yaml") == []
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Cluster:\n    Type: AWS::EKS::Cluster\n    Properties: {}\n")
    assert any("ResourcesVpcConfig" in p for p in infra_check.problems(broken))
    assert infra_check.main(tmp_path) == 1


def test_the_sample_manifests_are_valid() -> None:
    assert manifest_check.main() == 0

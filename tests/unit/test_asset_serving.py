"""Published assets reach browsers through CloudFront, which adds the headers S3 cannot (nosniff, a CSP that
lets nothing run); without a CDN (locally) they are presigned S3 URLs carrying the verified type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmp.bootstrap import bootstrap
from cmp.config import Settings
from cmp.db import Database
from cmp_dev.devtools.cfn_yaml import load_template
from tests.fakes import FakeObjectStorage

REPO = Path(__file__).resolve().parents[2]


def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_template(REPO / "template.yaml")["Resources"]
    return resources


def test_asset_urls_go_through_the_cdn_when_there_is_one() -> None:
    services = bootstrap(
        Settings(assets_bucket="assets", assets_cdn_domain="d111.cloudfront.net"),
        db=Database("postgresql://unused"),
        objects=FakeObjectStorage(),
    )
    assert (
        services.asset_url("products/t/p/logo/a b.png")
        == "https://d111.cloudfront.net/products/t/p/logo/a%20b.png"
    )


def test_without_a_cdn_asset_urls_are_presigned_with_the_verified_type() -> None:
    services = bootstrap(
        Settings(assets_bucket="assets", assets_cdn_domain=""),
        db=Database("postgresql://unused"),
        objects=FakeObjectStorage(),
    )
    url = services.asset_url("products/t/p/logo/a.svg")
    assert url.startswith("https://assets.s3.test/products/t/p/logo/a.svg")
    assert "ResponseContentType=image/svg+xml" in url and "ResponseContentDisposition=attachment" in url


def test_the_cdn_answers_with_nosniff_and_a_csp_that_lets_nothing_run() -> None:
    headers = _resources()["AssetsResponseHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["ContentTypeOptions"] == {"Override": True}
    csp = security["ContentSecurityPolicy"]
    assert csp["Override"] is True
    assert "default-src 'none'" in csp["ContentSecurityPolicy"] and "sandbox" in csp["ContentSecurityPolicy"]
    assert "script-src" not in csp["ContentSecurityPolicy"]
    behaviour = _resources()["AssetsCdn"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "AssetsResponseHeaders"}
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"


def test_only_the_cdn_reads_the_bucket_and_only_product_assets() -> None:
    resources = _resources()
    access = resources["AssetsBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(access.values())
    [statement] = resources["AssetsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == {"Fn::Sub": "${AssetsBucket.Arn}/products/*"}
    assert "${AssetsCdn}" in statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    variables = resources["MarketplaceApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["ASSETS_CDN_DOMAIN"] == {"Fn::GetAtt": ["AssetsCdn", "DomainName"]}

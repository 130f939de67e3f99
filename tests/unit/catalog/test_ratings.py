"""Reviews by subscribers: the text rules, who may review, one review per subscription (create, replace,
delete), another organization's subscription is not found, and every write recomputes the product's
listing rating."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest

from cmp.catalog.ports import RatingUnitOfWorkFactory
from cmp.catalog.rating_model import (
    REVIEWABLE_STATUSES,
    ReviewListQuery,
    ReviewText,
    author_display_name,
    ensure_may_review,
)
from cmp.catalog.ratings import RatingService
from cmp.errors import Conflict, NotFound, ValidationFailed
from tests.fakes import FixedClock, SequentialIds
from tests.unit.catalog.rating_memory import RatingStore, RatingUnitOfWorks

BUYER = uuid.UUID("0b0c0d0e-0000-4000-8000-0000000000b1")
OTHER = uuid.UUID("0b0c0d0e-0000-4000-8000-0000000000b2")
USER = uuid.UUID("0b0c0d0e-0000-4000-8000-0000000000c1")
PRODUCT = uuid.UUID("0b0c0d0e-0000-4000-8000-0000000000d1")


def _paths(error: ValidationFailed) -> dict[str, str]:
    return {e.path: e.message for e in error.errors}


# ---------------------------------------------------------------------------------------------- text
def test_a_review_text_is_trimmed_and_keeps_line_breaks() -> None:
    text = ReviewText.checked(4, "  Fast answers \t", "\r\nFirst line\r\n\tsecond line  \n")
    assert text == ReviewText(4, "Fast answers", "First line\n\tsecond line")
    assert ReviewText.checked(5, "Great") == ReviewText(5, "Great", "")


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "5", True, None])
def test_a_rating_must_be_a_whole_number_from_1_to_5(rating: object) -> None:
    with pytest.raises(ValidationFailed) as e:
        ReviewText.checked(rating, "Title", "")
    assert _paths(e.value) == {"rating": "must be a whole number from 1 to 5"}


def test_every_broken_rule_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as e:
        ReviewText.checked(9, "   ", "x" * 5001)
    assert _paths(e.value) == {
        "rating": "must be a whole number from 1 to 5",
        "title": "give a title",
        "body": "5001 characters; the limit is 5000",
    }


@pytest.mark.parametrize(
    ("title", "body", "path", "message"),
    [
        ("t" * 121, "", "title", "121 characters; the limit is 120"),
        ("Two\nlines", "", "title", "must be one line without control characters"),
        ("Bell\x07", "", "title", "must be one line without control characters"),
        (None, "", "title", "give a title"),
        (
            "Fine",
            "escape \x1b[31m",
            "body",
            "must not hold control characters other than line breaks and tabs",
        ),
        ("Fine", 42, "body", "must be text"),
    ],
)
def test_titles_and_bodies_have_limits(title: object, body: object, path: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        ReviewText.checked(3, title, body)
    assert _paths(e.value) == {path: message}


def test_the_limits_count_characters_not_bytes() -> None:
    assert ReviewText.checked(5, "é" * 120, "日" * 5000).title == "é" * 120


@pytest.mark.parametrize("status", sorted(REVIEWABLE_STATUSES))
def test_a_subscription_in_use_or_ended_may_review(status: str) -> None:
    ensure_may_review(status)


def test_a_subscription_still_being_provisioned_may_not_review() -> None:
    with pytest.raises(Conflict, match="provisioning"):
        ensure_may_review("provisioning")


def test_the_author_is_the_display_name_or_else_the_organization() -> None:
    assert author_display_name("  Ada  ", "Lovelace Labs") == "Ada"
    assert author_display_name(None, "Lovelace Labs") == "Lovelace Labs"
    assert author_display_name("   ", "Lovelace Labs") == "Lovelace Labs"
    assert author_display_name("x" * 300, "Org") == "x" * 200


def test_the_list_query_names_every_bad_parameter() -> None:
    assert ReviewListQuery.from_query(" 4 ", None, None).rating == 4
    assert ReviewListQuery.from_query(None, "10", "").page.limit == 10
    assert ReviewListQuery.from_query("", None, None).rating is None
    with pytest.raises(ValidationFailed) as e:
        ReviewListQuery.from_query("6", "0", "not-a-cursor")
    assert sorted(_paths(e.value)) == ["query.cursor", "query.limit", "query.rating"]


# ---------------------------------------------------------------------------------------------- service
@pytest.fixture
def store() -> RatingStore:
    return RatingStore(organizations={BUYER: "Globex Retail", OTHER: "Initech"})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(store: RatingStore, clock: FixedClock) -> RatingService:
    return RatingService(cast(RatingUnitOfWorkFactory, RatingUnitOfWorks(store)), clock, SequentialIds())


def test_a_subscriber_writes_then_replaces_its_review(
    service: RatingService, store: RatingStore, clock: FixedClock
) -> None:
    sub = store.subscription(BUYER, PRODUCT)
    review, created = service.write(str(BUYER), str(USER), str(sub.id), 5, " Superb ", "Fast.")
    assert created and review["rating"] == 5 and review["title"] == "Superb"
    assert review["author_name"] == "Globex Retail" and review["edited"] is False
    assert review["product_id"] == str(PRODUCT) and review["subscription_id"] == str(sub.id)
    assert store.listings[PRODUCT] == (Decimal("5.00"), 1)

    clock.advance(hours=1)
    store.display_names[USER] = "Ada"
    replaced, created = service.write(str(BUYER), str(USER), str(sub.id), 2, "Slower now", "")
    assert not created and replaced["id"] == review["id"]
    assert (replaced["rating"], replaced["author_name"], replaced["edited"]) == (2, "Ada", True)
    assert replaced["created_at"] == review["created_at"] != replaced["updated_at"]
    assert len(store.ratings) == 1 and store.listings[PRODUCT] == (Decimal("2.00"), 1)
    assert service.get(str(BUYER), str(sub.id)) == replaced
    assert store.commits == 2


def test_the_product_rating_is_the_average_over_its_subscriptions(
    service: RatingService, store: RatingStore
) -> None:
    subs = [store.subscription(BUYER, PRODUCT), store.subscription(OTHER, PRODUCT)]
    other_product = store.subscription(BUYER, uuid.uuid4())
    service.write(str(BUYER), str(USER), str(subs[0].id), 5, "Great", "")
    service.write(str(OTHER), str(USER), str(subs[1].id), 4, "Good", "")
    service.write(str(BUYER), str(USER), str(other_product.id), 1, "Bad", "")
    assert store.listings[PRODUCT] == (Decimal("4.50"), 2)
    service.delete(str(OTHER), str(subs[1].id))
    assert store.listings[PRODUCT] == (Decimal("5.00"), 1)
    service.delete(str(BUYER), str(subs[0].id))
    assert store.listings[PRODUCT] == (Decimal("0"), 0)
    with pytest.raises(NotFound, match="no review"):
        service.get(str(BUYER), str(subs[0].id))
    with pytest.raises(NotFound, match="no review"):
        service.delete(str(BUYER), str(subs[0].id))


def test_another_organizations_subscription_is_not_found(service: RatingService, store: RatingStore) -> None:
    theirs = store.subscription(OTHER, PRODUCT)
    service.write(str(OTHER), str(USER), str(theirs.id), 5, "Ours", "")
    for attempt in (
        lambda: service.write(str(BUYER), str(USER), str(theirs.id), 1, "Sabotage", ""),
        lambda: service.get(str(BUYER), str(theirs.id)),
        lambda: service.delete(str(BUYER), str(theirs.id)),
        lambda: service.get(str(BUYER), "not-a-uuid"),
    ):
        with pytest.raises(NotFound, match="subscription not found"):
            attempt()
    assert [r.rating for r in store.ratings.values()] == [5]


def test_a_subscription_being_provisioned_cannot_review_and_nothing_is_stored(
    service: RatingService, store: RatingStore
) -> None:
    sub = store.subscription(BUYER, PRODUCT, status="provisioning")
    with pytest.raises(Conflict):
        service.write(str(BUYER), str(USER), str(sub.id), 5, "Early", "")
    assert not store.ratings and PRODUCT not in store.listings and store.commits == 0


def test_a_cancelled_subscription_still_reviews(service: RatingService, store: RatingStore) -> None:
    sub = store.subscription(BUYER, PRODUCT, status="cancelled")
    _, created = service.write(str(BUYER), str(USER), str(sub.id), 3, "It was fine", "")
    assert created and store.listings[PRODUCT] == (Decimal("3.00"), 1)


def test_invalid_text_is_refused_before_anything_is_read(service: RatingService, store: RatingStore) -> None:
    with pytest.raises(ValidationFailed):
        service.write(str(BUYER), str(USER), str(uuid.uuid4()), 0, "", "")
    assert store.commits == 0


def test_edited_means_replaced_after_it_was_written(service: RatingService, store: RatingStore) -> None:
    sub = store.subscription(BUYER, PRODUCT)
    service.write(str(BUYER), str(USER), str(sub.id), 4, "Good", "")
    rating = next(iter(store.ratings.values()))
    assert not rating.edited
    rating.updated_at += timedelta(seconds=1)
    assert rating.edited


def test_a_seller_subscribed_to_its_own_product_cannot_review_it_and_nothing_is_stored(
    service: RatingService, store: RatingStore
) -> None:
    own = store.subscription(BUYER, PRODUCT, seller=BUYER)
    with pytest.raises(Conflict, match="own product"):
        service.write(str(BUYER), str(USER), str(own.id), 5, "Best product ever", "")
    assert not store.ratings and PRODUCT not in store.listings and store.commits == 0

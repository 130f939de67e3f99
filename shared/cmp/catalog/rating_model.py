"""Product reviews by subscribers: the review entity and its rules. No I/O.

(Not the seller's *submission* review, which is `review_model.py`.) A buyer organization writes at most one
review (`Rating`) per subscription: a star rating from 1 to 5, a one-line title and an optional body. It
may replace or delete it at any time. Only an organization that holds or held the product may review it:
a subscription that is or was in use (`REVIEWABLE_STATUSES`); one still being provisioned has not been
used yet. The product's seller may not review its own product (`ensure_not_own_product`). The review
belongs to the buyer's organization; the product page shows it publicly with the
author's display name (or, without one, the organization's name), never an id or e-mail.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from cmp.catalog.paging import ProductPage
from cmp.errors import Conflict, FieldError, NotFound, ValidationFailed

RATING_MIN, RATING_MAX = 1, 5
TITLE_MAX_CHARS = 120
BODY_MAX_CHARS = 5000
AUTHOR_NAME_MAX_CHARS = 200
"""Limits of a review's fields, in characters (Unicode code points); the table checks the same."""

REVIEWABLE_STATUSES = frozenset({"active", "past_due", "suspended", "cancelled", "expired"})
"""Subscription statuses (`cmp.commerce.model.SubscriptionStatus`) whose organization may review the
product: it holds it now or held it before. `provisioning` is left out: the product was never in use."""

_BODY_CONTROLS = frozenset("\n\t")
"""The only control characters a body keeps (line breaks arrive as `\\n`; `\\r\\n` is made `\\n`)."""


def _controls(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Whether `text` holds a control character (Unicode category Cc) other than `allowed` ones."""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


@dataclass(frozen=True)
class ReviewText:
    """What a reviewer writes, checked: `rating` 1 to 5, `title` one line of 1 to 120 characters, `body` up to
    5,000 characters (may be empty), both without surrounding whitespace."""

    rating: int
    title: str
    body: str = ""

    @classmethod
    def checked(cls, rating: object, title: object, body: object = "") -> ReviewText:
        """The review text after trimming; raises `ValidationFailed` listing every broken rule, each at its
        field (`rating`, `title`, `body`)."""
        errors: list[FieldError] = []
        stars = rating if isinstance(rating, int) and not isinstance(rating, bool) else None
        if stars is None or not RATING_MIN <= stars <= RATING_MAX:
            errors.append(FieldError("rating", f"must be a whole number from {RATING_MIN} to {RATING_MAX}"))
        clean_title = title.strip() if isinstance(title, str) else ""
        if not isinstance(title, str) or not clean_title:
            errors.append(FieldError("title", "give a title"))
        elif len(clean_title) > TITLE_MAX_CHARS:
            errors.append(
                FieldError("title", f"{len(clean_title)} characters; the limit is {TITLE_MAX_CHARS}")
            )
        elif _controls(clean_title):
            errors.append(FieldError("title", "must be one line without control characters"))
        clean_body = body.replace("\r\n", "\n").strip() if isinstance(body, str) else ""
        if not isinstance(body, str):
            errors.append(FieldError("body", "must be text"))
        elif len(clean_body) > BODY_MAX_CHARS:
            errors.append(FieldError("body", f"{len(clean_body)} characters; the limit is {BODY_MAX_CHARS}"))
        elif _controls(clean_body, _BODY_CONTROLS):
            errors.append(
                FieldError("body", "must not hold control characters other than line breaks and tabs")
            )
        if errors or stars is None:
            raise ValidationFailed("the review is invalid", errors=errors)
        return cls(stars, clean_title, clean_body)


def ensure_may_review(subscription_status: str) -> None:
    """Raises `Conflict` (409) unless a subscription in this status may review its product."""
    if subscription_status not in REVIEWABLE_STATUSES:
        raise Conflict(
            f"this subscription is {subscription_status}: review the product once you have used it"
        )


def ensure_not_own_product(buyer_tenant_id: uuid.UUID, seller_tenant_id: uuid.UUID) -> None:
    """Raises `Conflict` (409) when the reviewing organization is the product's seller: a seller may
    subscribe to its own product (to try it as a buyer would), but its stars would raise its own listing's
    rating and its place in the marketplace's rating sort."""
    if buyer_tenant_id == seller_tenant_id:
        raise Conflict("this is your organization's own product: only other organizations may review it")


def author_display_name(display_name: str | None, organization_name: str) -> str:
    """The name a review is shown with: the user's display name, or else the organization's name, trimmed
    to `AUTHOR_NAME_MAX_CHARS`."""
    name = (display_name or "").strip() or organization_name.strip()
    return name[:AUTHOR_NAME_MAX_CHARS]


def parse_subscription_id(subscription_id: str) -> uuid.UUID:
    """A subscription id from a path; raises `NotFound` for anything that is not a UUID."""
    try:
        return uuid.UUID(subscription_id)
    except ValueError as e:
        raise NotFound("subscription not found") from e


@dataclass
class Rating:
    """One subscription's review of its product, owned by the buyer organization `tenant_id`."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    product_id: uuid.UUID
    seller_tenant_id: uuid.UUID
    author_user_id: uuid.UUID | None
    author_name: str
    rating: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime

    def revise(self, text: ReviewText, author_user_id: uuid.UUID, author_name: str, now: datetime) -> None:
        """Replace the text; the review is now shown with the name of the member who wrote this version."""
        self.rating, self.title, self.body = text.rating, text.title, text.body
        self.author_user_id, self.author_name = author_user_id, author_name
        self.updated_at = now

    @property
    def edited(self) -> bool:
        """Whether the review was replaced after it was first written."""
        return self.updated_at > self.created_at


@dataclass(frozen=True)
class ReviewListQuery:
    """Which page of a product's public reviews: newest first, optionally only one star rating."""

    rating: int | None = None
    page: ProductPage = field(default_factory=ProductPage)

    @classmethod
    def from_query(cls, rating: str | None, limit: str | None, cursor: str | None) -> ReviewListQuery:
        """Parse the raw query values (blank means absent); raises `ValidationFailed` naming every bad one:
        `query.rating` (a whole number from 1 to 5), `query.limit`, `query.cursor` (as `ProductPage`)."""
        errors: list[FieldError] = []
        stars = None
        raw = (rating or "").strip()
        if raw:
            if raw in {str(n) for n in range(RATING_MIN, RATING_MAX + 1)}:
                stars = int(raw)
            else:
                errors.append(
                    FieldError("query.rating", f"must be a whole number from {RATING_MIN} to {RATING_MAX}")
                )
        try:
            page = ProductPage.from_query(limit, cursor)
        except ValidationFailed as e:
            errors.extend(e.errors)
            page = ProductPage()
        if errors:
            raise ValidationFailed("the list parameters are invalid", errors=errors)
        return cls(stars, page)

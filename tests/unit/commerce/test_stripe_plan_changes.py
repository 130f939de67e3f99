"""Plan changes through Stripe: previews, immediate upgrades, upgrades declined, downgrades scheduled for the
period end, and cancellation. Stripe's recorded proration lines equal `cmp.commerce.proration` for the same
inputs, so the local provider and Stripe charge the same."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cmp.commerce.payment_model import Price
from cmp.commerce.proration import prorate
from cmp.commerce.stripe_payments import StripePayments
from cmp.errors import NotFound, ValidationFailed
from tests.unit.commerce.stripe_http import SECRET, RecordedStripe

PRODUCT = "7a7a7a7a-0000-4000-8000-000000000001"
SUB = "sub_1QkU2hB7WZ01zgkWv4Ns8Dq1"
ITEM = "si_RkU2Yb5kP0sLqe"
SCHEDULE = "sub_sched_1QkV7nB7WZ01zgkWcT2aR9pL"
STARTER_PRICE = "price_1QkT4wB7WZ01zgkW8sLx2fRt"
PRO_PRICE = "price_1QkT5aB7WZ01zgkWn3Hq7VbE"
YEARLY_PRICE = "price_1QkT6cB7WZ01zgkWq0Jm4ZsK"

STARTER = Price(PRODUCT, "Support Agent", "starter", "Starter", "monthly", "USD", 2900)
PRO = Price(PRODUCT, "Support Agent", "pro", "Pro", "monthly", "USD", 9900)
STARTER_YEARLY = Price(PRODUCT, "Support Agent", "starter", "Starter", "yearly", "USD", 29000)
JAN1, JAN11, FEB1 = (
    datetime(2025, 1, 1, tzinfo=UTC),
    datetime(2025, 1, 11, tzinfo=UTC),
    datetime(2025, 2, 1, tzinfo=UTC),
)
MAR1, MAR21, APR1 = (
    datetime(2025, 3, 1, tzinfo=UTC),
    datetime(2025, 3, 21, tzinfo=UTC),
    datetime(2025, 4, 1, tzinfo=UTC),
)


@pytest.fixture
def http() -> RecordedStripe:
    return RecordedStripe()


@pytest.fixture
def payments(http: RecordedStripe) -> StripePayments:
    return StripePayments(lambda: "sk_test_51Kx", lambda: SECRET, http_client=http, max_network_retries=0)


def test_quote_of_an_upgrade_equals_our_proration(payments: StripePayments, http: RecordedStripe) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("GET", "/v1/prices", "prices_pro")
    http.expect("POST", "/v1/invoices/create_preview", "invoice_preview_upgrade")

    quote = payments.quote_change(SUB, STARTER, PRO, JAN1, FEB1, JAN11)

    http.done()
    assert http.sent[1].form == {"lookup_keys[0]": PRO.lookup_key, "limit": "1"}
    assert http.sent[2].form == {
        "subscription": SUB,
        "subscription_details[items][0][id]": ITEM,
        "subscription_details[items][0][price]": PRO_PRICE,
        "subscription_details[proration_date]": "1736553600",
        "subscription_details[proration_behavior]": "always_invoice",
    }
    assert (quote.credit, quote.charge, quote.amount_due) == (1965, 6706, 4741)
    assert quote == prorate(STARTER, PRO, JAN1, FEB1, JAN11)


def test_quote_of_monthly_to_yearly_takes_the_new_period(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("GET", "/v1/prices", "prices_starter_yearly")
    http.expect("POST", "/v1/invoices/create_preview", "invoice_preview_yearly")

    quote = payments.quote_change(SUB, STARTER, STARTER_YEARLY, MAR1, APR1, MAR21)

    assert (quote.credit, quote.charge) == (1029, 29000)
    assert (quote.period_start, quote.period_end) == (MAR21, datetime(2026, 3, 21, tzinfo=UTC))
    assert quote == prorate(STARTER, STARTER_YEARLY, MAR1, APR1, MAR21)
    assert http.sent[2].form["subscription_details[items][0][price]"] == YEARLY_PRICE


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (PRO, STARTER),
        (STARTER_YEARLY, STARTER),
        (STARTER, Price(PRODUCT, "A", "same", "S", "monthly", "USD", 2900)),
    ],
)
def test_downgrades_are_never_quoted_nor_charged(
    payments: StripePayments, http: RecordedStripe, current: Price, new: Price
) -> None:
    with pytest.raises(ValueError, match="downgrade"):
        payments.quote_change(SUB, current, new, JAN1, FEB1, JAN11)
    with pytest.raises(ValueError, match="downgrade"):
        payments.change_now(SUB, current, new, JAN1, FEB1, JAN11)
    assert http.sent == []


def test_change_now_invoices_the_proration_and_applies_only_when_paid(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("GET", "/v1/prices", "prices_pro")
    http.expect("POST", f"/v1/subscriptions/{SUB}", "subscription_upgraded")

    quote = payments.change_now(SUB, STARTER, PRO, JAN1, FEB1, JAN11)

    update = http.sent[2]
    assert update.form == {
        "items[0][id]": ITEM,
        "items[0][price]": PRO_PRICE,
        "proration_behavior": "always_invoice",
        "proration_date": "1736553600",
        "payment_behavior": "pending_if_incomplete",
        "expand[0]": "latest_invoice",
    }
    assert update.idempotency_key == f"cmp-change-{SUB}-{PRO.lookup_key}-1736553600"
    assert quote == prorate(STARTER, PRO, JAN1, FEB1, JAN11)


def test_a_declined_upgrade_keeps_the_plan(payments: StripePayments, http: RecordedStripe) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("GET", "/v1/prices", "prices_pro")
    http.expect("POST", f"/v1/subscriptions/{SUB}", "subscription_pending_update")
    with pytest.raises(ValidationFailed) as caught:
        payments.change_now(SUB, STARTER, PRO, JAN1, FEB1, JAN11)
    assert [e.path for e in caught.value.errors] == ["payment_method"]
    assert "keeps its plan" in caught.value.message


def test_a_card_error_on_an_upgrade_is_a_validation_error(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("GET", "/v1/prices", "prices_pro")
    http.expect("POST", f"/v1/subscriptions/{SUB}", "error_card_declined", status=402)
    with pytest.raises(ValidationFailed) as caught:
        payments.change_now(SUB, STARTER, PRO, JAN1, FEB1, JAN11)
    assert caught.value.errors[0].path == "payment_method"
    assert caught.value.errors[0].message == "Your card was declined."


def test_change_of_an_unknown_subscription_is_not_found(
    payments: StripePayments, http: RecordedStripe
) -> None:
    missing = {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": "No such subscription: 'sub_x'",
        }
    }
    http.expect("GET", "/v1/subscriptions/sub_x", missing, status=404)
    with pytest.raises(NotFound):
        payments.change_now("sub_x", STARTER, PRO, JAN1, FEB1, JAN11)


def test_schedule_change_adds_a_phase_at_the_period_end(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("POST", "/v1/subscription_schedules", "subscription_schedule")
    http.expect("GET", "/v1/prices", "prices_starter")
    http.expect("POST", f"/v1/subscription_schedules/{SCHEDULE}", "subscription_schedule_updated")

    payments.schedule_change(SUB, STARTER, FEB1)

    http.done()
    create, update = http.sent[1], http.sent[3]
    assert create.form == {"from_subscription": SUB}
    assert create.idempotency_key == f"cmp-schedule-{SUB}"
    assert update.form == {
        "end_behavior": "release",
        "phases[0][items][0][price]": PRO_PRICE,
        "phases[0][items][0][quantity]": "1",
        "phases[0][start_date]": "1735689600",
        "phases[0][end_date]": "1738368000",
        "phases[0][proration_behavior]": "none",
        "phases[1][items][0][price]": STARTER_PRICE,
        "phases[1][items][0][quantity]": "1",
        "phases[1][duration][interval]": "month",
        "phases[1][duration][interval_count]": "1",
        "phases[1][proration_behavior]": "none",
    }
    assert update.idempotency_key == f"cmp-schedule-{SUB}-{STARTER.lookup_key}-1738368000"


def test_a_second_scheduled_change_replaces_the_pending_phase(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription_scheduled")
    http.expect("GET", f"/v1/subscription_schedules/{SCHEDULE}", "subscription_schedule_updated")
    http.expect("GET", "/v1/prices", "prices_starter_yearly")
    http.expect("POST", f"/v1/subscription_schedules/{SCHEDULE}", "subscription_schedule_updated")

    payments.schedule_change(SUB, STARTER_YEARLY, FEB1)

    http.done()
    update = http.sent[3].form
    assert [key for key in update if key.startswith("phases[2]")] == []
    assert update["phases[0][items][0][price]"] == PRO_PRICE  # the phase in force, not the pending one
    assert (update["phases[1][items][0][price]"], update["phases[1][duration][interval]"]) == (
        YEARLY_PRICE,
        "year",
    )


def test_cancel_at_period_end(payments: StripePayments, http: RecordedStripe) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription")
    http.expect("POST", f"/v1/subscriptions/{SUB}", "subscription_cancel_at_period_end")
    payments.cancel(SUB, at_period_end=True)
    http.done()
    assert http.sent[1].form == {"cancel_at_period_end": "true"}
    assert http.sent[1].idempotency_key == f"cmp-cancel-{SUB}"


def test_cancel_at_period_end_releases_a_pending_downgrade_first(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", f"/v1/subscriptions/{SUB}", "subscription_scheduled")
    http.expect("POST", f"/v1/subscription_schedules/{SCHEDULE}/release", "subscription_schedule_released")
    http.expect("POST", f"/v1/subscriptions/{SUB}", "subscription_cancel_at_period_end")
    payments.cancel(SUB, at_period_end=True)
    http.done()


def test_cancel_at_once(payments: StripePayments, http: RecordedStripe) -> None:
    http.expect("DELETE", f"/v1/subscriptions/{SUB}", "subscription_canceled")
    payments.cancel(SUB, at_period_end=False)
    http.done()
    assert http.sent[0].params == []

"""Commerce: checkout, orders, subscriptions (a capability snapshot at purchase), payments and seller revenue."""

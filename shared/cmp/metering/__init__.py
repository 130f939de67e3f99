"""Exactly-once usage metering: usage events recorded in the transaction of the work they meter, billing
periods and late events, the scheduled roll-up and the usage read side (docs/metering.md)."""

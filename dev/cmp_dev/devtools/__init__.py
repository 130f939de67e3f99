"""Developer and CI tooling: offline checks that keep the SAM template and its state machines honest."""

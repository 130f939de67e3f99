"""The local stack: embedded PostgreSQL, a moto server, and a runner that executes our handlers."""

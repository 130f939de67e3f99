"""PostgreSQL access: a connection pool, sessions for repositories and views, and a unit of work that sets
the tenant for row-level security and carries the transactional outbox."""

from cmp.db.outbox import OutboxMessage
from cmp.db.pool import Database
from cmp.db.session import Session
from cmp.db.uow import REPOSITORIES, UnitOfWork, UnitOfWorkFactory

__all__ = ["REPOSITORIES", "Database", "OutboxMessage", "Session", "UnitOfWork", "UnitOfWorkFactory"]

"""PostgreSQL access: a connection pool and a unit of work that sets the tenant for row-level security."""

from cmp.db.pool import Database
from cmp.db.uow import UnitOfWork

__all__ = ["Database", "UnitOfWork"]

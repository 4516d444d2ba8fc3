"""The store: tables, migrations, queries and the outbox, on SQLite or PostgreSQL through
SQLAlchemy Core (async). Rows in, rows out; no transport."""

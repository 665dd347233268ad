"""Postgres access: the asyncpg pool, numbered migrations, named queries and the transactional outbox."""

"""The central server: FastAPI over SQLAlchemy (SQLite embedded, PostgreSQL in production)."""

"""Persistence for crmbot: SQLModel tables, sessions, queries and metrics SQL."""

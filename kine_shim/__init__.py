"""etcd v3 API over SQLite."""

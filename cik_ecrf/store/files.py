"""The names of a store's files, in a module light enough for the client to import before its window shows."""

DB_FILE = "store.db"
KEYRING_FILE = "keyring.json"

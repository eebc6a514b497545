"""The laptop's encrypted local store: database, key wrapping, keyring, audit trail, repositories."""

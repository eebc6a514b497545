"""Sync between ward laptops and the central server: the protocol (shared with the server) and the client."""

"""CIK-eCRF: offline-first electronic case report forms for trial NCT06389305."""

__version__ = "0.1.0"

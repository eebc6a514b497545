"""The desktop client (PySide6): a thin layer over the Qt-free core."""

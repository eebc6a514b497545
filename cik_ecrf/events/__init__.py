"""Every kind of change, one module each: its payload, who may emit it, how a laptop applies it and
how the server validates and applies it. `registry.py` lists them and derives the action sets."""

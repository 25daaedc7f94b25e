"""The SmarterOS demo: realistic traffic through the real clients and collectors (see docs/demo.md)."""

"""Liftoff's Pulumi program: see __main__.py."""

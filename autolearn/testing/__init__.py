"""Conformance suites and toy problems shared by autolearn's tests and by plugin authors."""

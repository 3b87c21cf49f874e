"""Fakes and fixtures that several test packages share (tests import them from here).

Servers, local API stand-ins and drivers that the benchmarks also start live in
``loopback/`` instead (``free_port`` among them), since ``bench/`` never imports ``tests``.
"""

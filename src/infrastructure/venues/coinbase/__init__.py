"""Coinbase Advanced Trade adapter."""

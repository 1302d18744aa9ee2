"""Catalogue tables (channels, vendors, products, licences, claims)."""

from __future__ import annotations

"""Collectors: source reader → rows → sink, one package per source."""

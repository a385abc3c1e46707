"""Rendering: terminal detection, Rich tables for people, JSON documents for programs."""

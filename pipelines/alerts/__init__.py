"""Alerts: channels that are told, rules that watch the flows, incidents opened and resolved once."""

"""The events service: events, lecture series, registrations, check-in, activity reports."""

"""Outside systems of the notify service: the mail server (SMTP) and the SMS provider
(docs/architecture.md, "Outside systems")."""

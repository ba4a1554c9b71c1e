"""The notify service: templates, channels (e-mail, SMS, in-app inbox), consent, newsletters
and the delivery log (docs/notify.md)."""

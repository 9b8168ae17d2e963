"""Notifications: an outbox of what careapp tells families and partners, and the channels that deliver it.

- ``models.py``: the outbox (``Notification``, one row per booking and kind, unique), its per-channel
  ``Delivery`` rows, and the partner-editable ``MessageTemplate``.
- ``texts.py``: the default message texts per topic, service kind and language, and rendering.
- ``outbox.py``: the rules that write notifications (in the same transaction as the change they tell of),
  whether one is still worth sending, and the inbox.
- ``channels.py``: e-mail over SMTP, SMS behind a pluggable interface (logging by default).
- ``delivery.py``: sending what is due, exactly once per channel, with retries and backoff.
- ``reminders.py``: the reminder lead times and the job that makes due reminders.
- ``templates.py``: partner managers' own wordings (rules); ``template_views.py``, ``template_forms.py``:
  their pages. ``views.py``: the inbox page. The API is in careapp/api/notifications.py and
  careapp/api/message_templates.py.

How it all runs, and what it guarantees: docs/scheduler.md.
"""

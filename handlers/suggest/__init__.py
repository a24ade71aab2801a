"""Suggested replies: drafted by a model or offline, grounded in the team's approved replies.

``redact`` strips personal data before anything leaves the process; ``knowledge`` ranks
approved replies; ``prompt`` builds the model's messages; ``offline`` drafts without a
model; ``service`` runs a draft after an alert and queues the card; ``staff`` is what
staff do with a suggestion (vote, use).
"""

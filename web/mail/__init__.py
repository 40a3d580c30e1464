"""E-mail: the outbox's worker, what each e-mail says, and the SMTP client."""

"""The school's domain: accounts, classes, availability, assignment, bookings and calendars.

This package knows nothing of HTTP, Socket.IO or media. Every service function takes an
``AsyncSession`` as its first argument and runs inside the caller's transaction.
"""

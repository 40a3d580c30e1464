"""The aiohttp application: the one place where domain, live rooms and HTTP are wired."""

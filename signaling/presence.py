"""Who is online in which live class, and which process hosts each class.

One interface, two backends: in memory for the single-process default, Redis when several
processes serve one school (python-socketio's Redis manager carries their emits).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from redis.asyncio import Redis


class Presence(ABC):
    @abstractmethod
    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None: ...

    @abstractmethod
    async def offline(self, lesson_id: int, user_id: int) -> None: ...

    @abstractmethod
    async def who(self, lesson_id: int) -> dict[int, dict[str, Any]]: ...

    @abstractmethod
    async def live_lessons(self) -> list[int]: ...

    @abstractmethod
    async def claim(self, lesson_id: int, process: str) -> str:
        """Make ``process`` the home of the class unless another one already is; returns
        the home."""

    @abstractmethod
    async def release(self, lesson_id: int, process: str) -> None: ...

    async def close(self) -> None:
        return None


class MemoryPresence(Presence):
    def __init__(self) -> None:
        self._people: dict[int, dict[int, dict[str, Any]]] = {}
        self._homes: dict[int, str] = {}

    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None:
        self._people.setdefault(lesson_id, {})[user_id] = info

    async def offline(self, lesson_id: int, user_id: int) -> None:
        people = self._people.get(lesson_id, {})
        people.pop(user_id, None)
        if not people:
            self._people.pop(lesson_id, None)

    async def who(self, lesson_id: int) -> dict[int, dict[str, Any]]:
        return dict(self._people.get(lesson_id, {}))

    async def live_lessons(self) -> list[int]:
        return sorted(self._people)

    async def claim(self, lesson_id: int, process: str) -> str:
        return self._homes.setdefault(lesson_id, process)

    async def release(self, lesson_id: int, process: str) -> None:
        if self._homes.get(lesson_id) == process:
            del self._homes[lesson_id]


class RedisPresence(Presence):
    """Hashes ``kelas:presence:<lesson>`` (user -> JSON), the set ``kelas:live`` and keys
    ``kelas:home:<lesson>`` (the hosting process, with a lease renewed while it hosts)."""

    HOME_LEASE_S = 120

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def online(self, lesson_id: int, user_id: int, info: dict[str, Any]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            _ = pipe.hset(f"kelas:presence:{lesson_id}", str(user_id), json.dumps(info))
            _ = pipe.sadd("kelas:live", str(lesson_id))
            await pipe.execute()

    async def offline(self, lesson_id: int, user_id: int) -> None:
        key = f"kelas:presence:{lesson_id}"
        await self._redis.hdel(key, str(user_id))
        if not await self._redis.hlen(key):
            await self._redis.srem("kelas:live", str(lesson_id))

    async def who(self, lesson_id: int) -> dict[int, dict[str, Any]]:
        raw = await self._redis.hgetall(f"kelas:presence:{lesson_id}")
        return {int(k): json.loads(v) for k, v in raw.items()}

    async def live_lessons(self) -> list[int]:
        return sorted(int(x) for x in await self._redis.smembers("kelas:live"))

    async def claim(self, lesson_id: int, process: str) -> str:
        key = f"kelas:home:{lesson_id}"
        await self._redis.set(key, process, nx=True, ex=self.HOME_LEASE_S)
        home = await self._redis.get(key)
        if home == process:
            await self._redis.expire(key, self.HOME_LEASE_S)
        return str(home)

    async def release(self, lesson_id: int, process: str) -> None:
        key = f"kelas:home:{lesson_id}"
        if await self._redis.get(key) == process:
            await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()

"""Named documents kept in the release table: the pushed config (aws/pushed_config.py) and the
calendars' last good import (aws/calendar_state.py) — what a file beside the SQLite database
holds in local mode.

A document is zlib-compressed and split into chunks under DynamoDB's 400 KB item limit. It is
replaced whole: the chunks of the new version are written under a fresh generation, then the
head item is switched to it in one write, then the old chunks are deleted. A reader follows
the head, so it sees the old version or the new one, never a mix, and a writer that dies
half-way leaves the old version in force.

    PK = "DOC#<name>", SK = "HEAD"                 generation, chunks, bytes, saved_at
    PK = "DOC#<name>", SK = "CHUNK#<gen>#<i>"      data (binary)

No item carries `active_pk` or `release_pk`: no index and no release query sees them.
"""

from __future__ import annotations

import secrets
import zlib
from datetime import datetime
from typing import Any

from ..errors import StoreError

CHUNK_BYTES = 300_000  # under the 400 KB item limit with the keys and attributes
MAX_CHUNKS = 20  # 6 MB compressed: far above a calendar of a year's announcements


class DocumentTooLarge(StoreError):
    pass


class Documents:
    def __init__(self, client: Any, table_name: str, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.client = client
        self.table_name = table_name
        self.chunk_bytes = chunk_bytes

    def get(self, name: str) -> bytes | None:
        """The document's bytes, or None if it was never saved. ValueError if it is damaged."""
        for _ in range(3):  # a writer replacing it meanwhile deletes the chunks we were reading
            head = self.client.get_item(
                TableName=self.table_name, Key=_key(name, "HEAD"), ConsistentRead=True
            ).get("Item")
            if head is None:
                return None
            parts = self._chunks(name, head["generation"]["S"], int(head["chunks"]["N"]))
            if parts is not None:
                break
        else:
            raise ValueError(f"stored {name}: a chunk its head names is missing")
        try:
            return zlib.decompress(b"".join(parts))
        except zlib.error as exc:
            raise ValueError(f"stored {name} is damaged: {exc}") from None

    def _chunks(self, name: str, gen: str, count: int) -> list[bytes] | None:
        parts = []
        for i in range(count):
            item = self.client.get_item(
                TableName=self.table_name, Key=_key(name, _chunk(gen, i)), ConsistentRead=True
            ).get("Item")
            if item is None:
                return None
            parts.append(bytes(item["data"]["B"]))
        return parts

    def put(self, name: str, data: bytes, now: datetime) -> None:
        packed = zlib.compress(data, 6)
        chunks = [packed[i : i + self.chunk_bytes] for i in range(0, len(packed), self.chunk_bytes)]
        chunks = chunks or [b""]
        if len(chunks) > MAX_CHUNKS:
            raise DocumentTooLarge(
                f"{name} is {len(packed)} bytes compressed; at most "
                f"{MAX_CHUNKS * self.chunk_bytes} fit in the table"
            )
        old = self.client.get_item(
            TableName=self.table_name, Key=_key(name, "HEAD"), ConsistentRead=True
        ).get("Item")
        gen = secrets.token_hex(6)
        for i, part in enumerate(chunks):
            self.client.put_item(
                TableName=self.table_name,
                Item=_key(name, _chunk(gen, i)) | {"data": {"B": part}},
            )
        self.client.put_item(
            TableName=self.table_name,
            Item=_key(name, "HEAD")
            | {
                "generation": {"S": gen},
                "chunks": {"N": str(len(chunks))},
                "bytes": {"N": str(len(data))},
                "saved_at": {"S": now.isoformat()},
            },
        )
        if old is not None:
            for i in range(int(old["chunks"]["N"])):
                self.client.delete_item(
                    TableName=self.table_name, Key=_key(name, _chunk(old["generation"]["S"], i))
                )


def _key(name: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": f"DOC#{name}"}, "SK": {"S": sk}}


def _chunk(gen: str, i: int) -> str:
    return f"CHUNK#{gen}#{i:03d}"

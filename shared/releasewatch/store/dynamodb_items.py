"""How the DynamoDB store's items encode the domain: release records (zlib-compressed when
large), deliveries, keys and times. Pure: no client, no I/O. The item layout is described in
dynamodb.py."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import StoreError

if TYPE_CHECKING:  # (the models load with the first item decoded: an idle tick decodes none)
    from ..model import Delivery, ReleaseRecord

Item = dict[str, Any]

ACTIVE_MARK = "ACTIVE"  # active_pk of an active release (the sparse active-index)
RELEASE_MARK = "RELEASE"  # release_pk of every release (releases-index)
WAKE_MARK = "WAKE"  # wake_pk of an active release with a wake time (the sparse wake-index)
# awaiting_pk of a delivery sent with a provider's id and not yet answered by its receipt (the
# sparse awaiting-index, sorted by awaiting_at, the send time)
AWAITING_MARK = "AWAITING"


def iso_text(when: datetime) -> str:
    """Fixed-width UTC ISO text: sorts as the instants do, so it works in key conditions."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def partition_key(release_id: str) -> str:
    return f"RELEASE#{release_id}"


def item_key(release_id: str, sk: str) -> Item:
    return {"PK": {"S": partition_key(release_id)}, "SK": {"S": sk}}


def release_id_of(delivery_key: str) -> str:
    release_id, sep, _ = delivery_key.partition("|")
    if not sep or not release_id:
        raise StoreError("delivery keys must be Notification.make_key keys (release id first)")
    return release_id


# A record whose JSON is longer than this is kept zlib-compressed (`record_z`): an iCal rota's
# shifts, embedded in every release that names it, would otherwise outgrow a 400 KB item.
_COMPRESS_OVER = 64 * 1024


def _record_attr(record: ReleaseRecord) -> Item:
    text = record.model_dump_json()
    if len(text) <= _COMPRESS_OVER:
        return {"record": {"S": text}}
    packed = zlib.compress(text.encode("utf-8"), 6)
    if len(packed) > 350_000:
        raise StoreError(
            f"release {record.id} is too large to store ({len(packed)} bytes compressed): "
            "shorten the rotas it names (fewer shifts or a shorter RRULE)"
        )
    return {"record_z": {"B": packed}}


def record_item(record: ReleaseRecord) -> Item:
    item: Item = {
        **item_key(record.id, "META"),
        **_record_attr(record),
        "version": {"N": str(record.version)},
        "state": {"S": record.state.value},
        "due": {"S": iso_text(record.release.due)},
        "release_pk": {"S": RELEASE_MARK},
    }
    if record.active:
        item["active_pk"] = {"S": ACTIVE_MARK}
        if record.wake_at is not None:
            item["wake_pk"] = {"S": WAKE_MARK}
            item["wake_at"] = {"S": iso_text(record.wake_at)}
    return item


def record_from(item: Mapping[str, Any]) -> ReleaseRecord:
    from ..model import ReleaseRecord

    if "record_z" in item:
        text = zlib.decompress(bytes(item["record_z"]["B"])).decode("utf-8")
    else:
        text = item["record"]["S"]
    record = ReleaseRecord.model_validate_json(text)
    # A wake (store/base.py) updates the attributes alone, not the record's JSON.
    update: dict[str, Any] = {"version": int(item["version"]["N"])}
    if "wake_at" in item:
        update["wake_at"] = parse_iso_text(item["wake_at"]["S"])
    return record.model_copy(update=update)


def delivery_from(item: Mapping[str, Any]) -> Delivery:
    from ..model import Delivery, DeliveryStatus, Notification

    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    def when(name: str) -> datetime | None:
        value = text(name)
        return None if value is None else parse_iso_text(value)

    return Delivery(
        notification=Notification.model_validate_json(item["notification"]["S"]),
        status=DeliveryStatus(item["status"]["S"]),
        attempts=int(item.get("attempts", {"N": "0"})["N"]),
        owner=text("owner"),
        lease_until=when("lease_until"),
        sent_at=when("sent_at"),
        provider_id=text("provider_id"),
        error=text("error"),
        updated_at=when("updated_at"),
        next_attempt_at=when("next_attempt_at"),
        receipt=text("receipt"),
        delivered_at=when("delivered_at"),
    )

"""Reading a QRIS string (EMVCo merchant-presented QR), to check the ones the simulator writes
(payments/gateways/qris.py) and those sales hand to kiosks. The product only writes them."""

from payments.gateways.qris import crc16_ccitt_false


def parse_tlv(payload: str) -> dict[str, str]:
    """Top-level data objects of a payload (templates left as their raw value)."""
    objects: dict[str, str] = {}
    index = 0
    while index < len(payload):
        tag, length = payload[index : index + 2], int(payload[index + 2 : index + 4])
        objects[tag] = payload[index + 4 : index + 4 + length]
        index += 4 + length
    return objects


def is_valid_crc(payload: str) -> bool:
    """Data object 63 last, its CRC covering everything before it, including its own `6304`."""
    return (
        len(payload) > 8
        and payload[-8:-4] == "6304"
        and payload[-4:] == f"{crc16_ccitt_false(payload[:-4].encode('ascii')):04X}"
    )
